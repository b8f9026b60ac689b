/**
 * One peer of the demo (scripts/demo.ts) as its own process, so that the demo
 * can SIGKILL it like a volunteer's machine going away: our proxy
 * (lib/proxy's startProxy) or our client (lib/client's startClient, a plain
 * SOCKS5 listener), both with loopback ICE candidates, which our WebRTC binding
 * allows so that the whole demo runs on 127.0.0.1 without root.
 *
 * `peer.ts proxy STUN_URL BROKER_URL RELAY_URL` or `peer.ts client STUN_URL BROKER_URL`: prints
 * one JSON line of its state at start (`{"ready":…}`) and then every 250 ms
 * (`{"stats":…}`), until SIGTERM or stdin closes.
 */

import { startProxy } from "../../lib/proxy/proxy.ts";
import { startClient } from "../../lib/client/client.ts";
import { Logger, nullSink, stderrSink } from "../../lib/util/log.ts";

const [role, stunUrl, brokerUrl, relayUrl] = Deno.args;
// SNOWFLAKE_DEMO_VERBOSE=1: the peers' own logs on stderr.
const verbose = Deno.env.get("SNOWFLAKE_DEMO_VERBOSE") === "1";
const logger = new Logger(verbose ? stderrSink : nullSink, { verbose });

let stop: () => Promise<void>;
let stats: () => unknown;
if (role === "proxy") {
  const proxy = startProxy({
    brokerUrl,
    relayUrl,
    stunUrl,
    allowedRelayHostnamePattern: "127.0.0.1$",
    allowNonTlsRelay: true,
    allowPrivateAddresses: true,
    keepLocalAddresses: true,
    includeLoopbackCandidates: true,
    pollIntervalMs: 2_000,
    summaryIntervalMs: 0,
    logger,
  });
  stop = () => proxy.stop();
  stats = () => proxy.stats();
  console.log(JSON.stringify({ ready: { role } }));
} else if (role === "client") {
  const client = await startClient({
    transport: { brokerUrl, fronts: [], iceServers: [stunUrl], max: 1 },
    keepLocalAddresses: true,
    includeLoopbackCandidates: true,
    logger,
  });
  stop = () => client.stop();
  stats = () => client.stats();
  console.log(JSON.stringify({ ready: { role, socksPort: client.socksAddr.port } }));
} else {
  console.error("usage: peer.ts proxy STUN_URL BROKER_URL RELAY_URL | peer.ts client STUN_URL BROKER_URL");
  Deno.exit(2);
}

const timer = setInterval(() => console.log(JSON.stringify({ stats: stats() })), 250);
const shutdown = async () => {
  clearInterval(timer);
  await stop();
  Deno.exit(0); // an open peer connection would keep the process alive (lib/webrtc)
};
Deno.addSignalListener("SIGTERM", shutdown);
Deno.addSignalListener("SIGINT", shutdown);
(async () => {
  for await (const _ of Deno.stdin.readable) { /* until closed */ }
  await shutdown();
})();
