/**
 * Interop (issue 13 item 9): Debian's `snowflake-client` 2.5.1, driven as tor
 * drives a PT client, reaches our server through our broker and OUR proxy
 * (`cli/main.ts proxy` as a subprocess with Go snowflake-proxy's flags):
 * 10 MB each way at once, SHA-256 checked, in a network namespace of its own.
 */

import assert from "node:assert/strict";
import { randomBytes, sha256Hex } from "../server/harness.ts";
import { startChain } from "./go_client_chain.ts";

const SIZE = 10 * 1024 * 1024;
const BUDGET_MS = 150_000;

Deno.test("proxy interop: Go snowflake-client → our proxy → our broker → our server → ORPort, 10 MB each way", async () => {
  const deadline = Date.now() + BUDGET_MS;
  const chain = await startChain("ours", {
    name: "sfproxy",
    deadline,
    proxyArgs: ["-summary-interval", "0s"],
  });
  try {
    const up = randomBytes(SIZE);
    const down = randomBytes(SIZE);
    const result = await chain.transfer(up, down, deadline);
    const context = () => `${JSON.stringify(result).slice(0, 2000)}\n${chain.logs()}`;
    assert.equal(result.error, undefined, context());
    assert.equal(result.upBytes, SIZE, context());
    assert.equal(result.downBytes, SIZE, context());
    assert.equal(result.upSha256, await sha256Hex(up), context());
    assert.equal(result.downSha256, await sha256Hex(down), context());
    // Started without -unsafe-logging: no address of the namespace in its log.
    assert.doesNotMatch(chain.proxy.err(), /192\.0\.2\.\d/, context());
    assert.match(chain.proxy.err(), /Proxy starting/);
  } finally {
    await chain.stop();
  }
});
