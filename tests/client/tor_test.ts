/**
 * Real tor through our client (issue 14 item 9): Debian's tor, as a client of
 * a private Tor network (tests/support/tor_chain.ts), runs `cli/main.ts
 * client` as its ClientTransportPlugin and bootstraps to 100 % through our
 * proxies, broker and server, then fetches a file through its SocksPort
 * while the busy proxy is SIGKILLed and a fresh one started: the file arrives
 * intact on the same tor circuit. Needs root (the namespace) and Debian's tor.
 */

import assert from "node:assert/strict";
import { runTorChain } from "../support/tor_chain.ts";

const FILE_SIZE = 3_000_000;
/** tor's 20 s voting puts a usable consensus 40–60 s after the start. */
const BUDGET_MS = 170_000;

Deno.test("real tor: our client and our proxies, broker and server: bootstrap, fetch with the busy proxy killed", async () => {
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
  console.log(`bootstrap ${result.bootstrapMs} ms, stall after the kill ${Math.round(result.stallMs)} ms`);
});
