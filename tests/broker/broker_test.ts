/** startBroker as a library: a typed config in, a handle out (addr, stats, stop), typed start errors. */
import assert from "node:assert/strict";
import { BrokerStartError, startBroker } from "../../lib/broker/broker.ts";
import { encodeClientPollRequest } from "../../lib/messages/client_poll.ts";
import { encodeProxyPollRequest } from "../../lib/messages/proxy_poll.ts";

const OFFER = '{"type":"offer","sdp":"v=0\\r\\n"}';

Deno.test("startBroker: serves on the chosen port, counts in stats(), stop() ends held polls", async () => {
  const dir = await Deno.makeTempDir();
  const broker = await startBroker({
    listen: { hostname: "127.0.0.1", port: 0 },
    metricsLogPath: `${dir}/metrics.log`,
    matching: { proxyTimeoutMs: 10_000 },
  });
  try {
    assert.equal(broker.tls, false);
    assert.ok(broker.addr.port > 0);
    const url = `http://127.0.0.1:${broker.addr.port}`;
    const replies: unknown[] = [];
    broker.events.addEventListener("clientreplied", (e) => replies.push(e.detail));
    const polled = new Promise((resolve) =>
      broker.events.addEventListener("proxypolled", (e) => resolve(e.detail))
    );
    const denied = await fetch(`${url}/client`, {
      method: "POST",
      body: encodeClientPollRequest({ offer: OFFER, nat: "restricted" }),
    });
    assert.equal(await denied.text(), '{"error":"no snowflake proxies currently available"}');
    assert.equal(broker.stats().period.clientDenied, 1);
    assert.deepEqual(replies, [{ nat: "restricted", outcome: "no-proxy" }]);

    // A held proxy poll shows in stats() while it waits; stop() ends it (503, or the connection closed).
    const poll = fetch(`${url}/proxy`, {
      method: "POST",
      body: encodeProxyPollRequest({
        sid: "s1",
        type: "standalone",
        nat: "unrestricted",
        clients: 0,
        acceptedRelayPattern: "",
      }),
    });
    assert.deepEqual(await polled, { nat: "unrestricted", proxyType: "standalone" });
    assert.equal(broker.stats().waitingProxies, 1);
    await Promise.all([broker.stop(), poll.then((response) => response.body?.cancel(), () => {})]);
    assert.equal(broker.stats().waitingProxies, 0);
  } finally {
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startBroker: what cannot be set up is a BrokerStartError naming its source", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bridges.json`,
    '{"displayName":"x","webSocketAddress":"wss://x/","fingerprint":"12"}\n',
  );
  const cases: [Parameters<typeof startBroker>[0], string][] = [
    [{
      listen: { hostname: "127.0.0.1", port: 0 },
      tls: { certFile: `${dir}/no.pem`, keyFile: `${dir}/no.pem` },
    }, "tls"],
    [{ listen: { hostname: "127.0.0.1", port: 0 }, bridgeListPath: `${dir}/bridges.json` }, "bridge-list"],
    [{
      listen: { hostname: "127.0.0.1", port: 0 },
      geoip: { ipv4Path: `${dir}/no`, ipv6Path: `${dir}/no`, required: true },
    }, "geoip"],
    [{ listen: { hostname: "127.0.0.1", port: 0 }, metricsLogPath: `${dir}/no/such/dir` }, "metrics-log"],
  ];
  for (const [config, source] of cases) {
    await assert.rejects(
      startBroker(config),
      (error) => error instanceof BrokerStartError && error.source === source,
    );
  }
  // An optional geoip database that is missing only turns country counts off.
  const broker = await startBroker({
    listen: { hostname: "127.0.0.1", port: 0 },
    geoip: { ipv4Path: `${dir}/no`, ipv6Path: `${dir}/no`, required: false },
  });
  await broker.stop();
  const busy = await startBroker({ listen: { hostname: "127.0.0.1", port: 0 } });
  try {
    await assert.rejects(
      startBroker({ listen: { hostname: "127.0.0.1", port: busy.addr.port } }),
      (error) => error instanceof BrokerStartError && error.source === "listen",
    );
  } finally {
    await busy.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
