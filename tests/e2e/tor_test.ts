/**
 * Real tor through Snowflake: a private Tor network on loopback inside a
 * network namespace (tests/support/tor_chain.ts), our broker, our server as
 * the bridge's ServerTransportPlugin, two proxies and a Snowflake client as
 * the client tor's ClientTransportPlugin. The client tor bootstraps to 100 %
 * through Snowflake and fetches a file through its SocksPort while the busy
 * proxy is SIGKILLed and a fresh one started; the file arrives intact. Once
 * with Go's client and proxies (the harness against the reference), once all
 * ours (when our client and proxy are in the checkout); our client with Go's
 * proxies is tests/client/tor_test.ts.
 * Needs root (the namespace) and Debian's tor.
 */

import { checkTorChain } from "../support/tor_chain.ts";
import { availableImpls } from "../support/peers.ts";

Deno.test("real tor: Go snowflake-client and Go proxies, our broker and server: bootstrap, fetch with a proxy killed", async () => {
  await checkTorChain("go", "go");
});

const { clients, proxies } = availableImpls();
if (clients.includes("ours") && proxies.includes("ours")) {
  Deno.test("real tor, all ours: our client, proxies, broker and server: bootstrap, fetch with a proxy killed", async () => {
    await checkTorChain("ours", "ours");
  });
}
