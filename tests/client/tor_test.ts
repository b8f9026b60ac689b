/**
 * Real tor through our client (issue 14 item 9): Debian's tor, as a client of
 * a private Tor network (tests/support/tor_chain.ts), runs `cli/main.ts
 * client` as its ClientTransportPlugin and bootstraps to 100 % through
 * Debian's `snowflake-proxy` 2.5.1 and our broker and server, then fetches a
 * file through its SocksPort while the busy proxy is SIGKILLed and a fresh one
 * started: the file arrives intact on the same tor circuit. (Our client with
 * our proxies is the all-ours case of tests/e2e/tor_test.ts.) Needs root (the
 * namespace) and Debian's tor.
 */

import { checkTorChain } from "../support/tor_chain.ts";

Deno.test("real tor: our client, Go proxies, our broker and server: bootstrap, fetch with the busy proxy killed", async () => {
  const result = await checkTorChain("ours", "go");
  console.log(`bootstrap ${result.bootstrapMs} ms, stall after the kill ${Math.round(result.stallMs)} ms`);
});
