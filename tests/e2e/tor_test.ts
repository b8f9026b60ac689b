/**
 * Real tor through Snowflake: a private Tor network on loopback inside a
 * network namespace (tests/support/tor_chain.ts), our broker, our server as
 * the bridge's ServerTransportPlugin, two proxies and a Snowflake client as
 * the client tor's ClientTransportPlugin. The client tor bootstraps to 100 %
 * through Snowflake and fetches a file through its SocksPort while the busy
 * proxy is SIGKILLed and a fresh one started; the file arrives intact. Once
 * with Go's client and proxies (the harness against the reference), once all
 * ours (when our client and proxy are in the checkout).
 * Needs root (the namespace) and Debian's tor.
 */

import assert from "node:assert/strict";
import { runTorChain } from "../support/tor_chain.ts";
import { availableImpls } from "../support/peers.ts";

const FILE_SIZE = 3_000_000;
/** The whole scenario: tor's 20 s voting puts a usable consensus 40–60 s after the start. */
const BUDGET_MS = 170_000;

Deno.test("real tor: Go snowflake-client and Go proxies, our broker and server: bootstrap, fetch with a proxy killed", async () => {
  const result = await runTorChain({ client: "go", proxy: "go", fileSize: FILE_SIZE, budgetMs: BUDGET_MS });
  const context = JSON.stringify(result);
  assert.equal(result.killed, 1, context);
  assert.equal(result.bytes, FILE_SIZE, context);
  assert.equal(result.sha256, result.expectedSha256, context);
});

const { clients, proxies } = availableImpls();
if (clients.includes("ours") && proxies.includes("ours")) {
  Deno.test("real tor, all ours: our client, proxies, broker and server: bootstrap, fetch with a proxy killed", async () => {
    const result = await runTorChain({
      client: "ours",
      proxy: "ours",
      fileSize: FILE_SIZE,
      budgetMs: BUDGET_MS,
    });
    const context = JSON.stringify(result);
    assert.equal(result.killed, 1, context);
    assert.equal(result.bytes, FILE_SIZE, context);
    assert.equal(result.sha256, result.expectedSha256, context);
  });
}
