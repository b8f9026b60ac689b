/**
 * End to end through the Go reference programs: Debian's `snowflake-client`
 * 2.5.1 (driven as tor drives a PT client) → Debian's `snowflake-proxy` 2.5.1
 * → our broker → our server (standalone, plain ws://) → a stand-in ORPort.
 * 5 MB each way, SHA-256 checked. Everything runs in a network namespace
 * (tests/support/client_chain.ts: a veth pair with 192.0.2.1 and 192.0.2.2:
 * the Go programs need non-loopback addresses for ICE). No STUN server answers
 * there, so both Go NAT checks report `unknown` and the broker runs with
 * `--allow-unknown-nat-matching`.
 */

import assert from "node:assert/strict";
import { startClientChain } from "../support/client_chain.ts";

const SIZE = 5 * 1024 * 1024;
/** The whole test, from the first process started to the last byte checked. */
const BUDGET_MS = 90_000;

Deno.test("e2e: Go snowflake-client → Go snowflake-proxy → our broker → our server → ORPort, 5 MB each way", async () => {
  const deadline = Date.now() + BUDGET_MS;
  const chain = await startClientChain({
    client: "go",
    proxy: "go",
    stunServer: false,
    name: "sfchain",
    deadline,
  });
  try {
    const result = await chain.transfer(SIZE, SIZE, Math.max(1_000, deadline - Date.now())).result;
    const context = `${JSON.stringify(result)}\n${chain.logs()}`;
    assert.equal(result.error, undefined, context);
    assert.equal(result.upBytes, SIZE, context);
    assert.equal(result.downBytes, SIZE, context);
    assert.equal(result.upSha256, result.upSentSha256, context);
    assert.equal(result.downSha256, result.downSentSha256, context);
    // Neither of ours was given --unsafe-logging: no address of the namespace in their logs.
    assert.doesNotMatch(chain.broker.log.join("\n"), /192\.0\.2\.\d/, context);
    assert.doesNotMatch(chain.server.err(), /192\.0\.2\.\d/, context);
  } finally {
    await chain.close();
  }
});
