/**
 * createRendezvous against local stand-ins over TLS with a test CA: our
 * broker's handler as the broker, a "CDN" that routes on `Host` and records
 * SNI (domain fronting), an AMP cache that rewrites its URLs to the broker's
 * AMP route; and servers that answer junk, errors, huge bodies, or nothing.
 * Every test name resolves to 127.0.0.1 through the `dial` option.
 */

import assert from "node:assert/strict";
import { brokerHandler } from "../../../lib/broker/handler.ts";
import { Rendezvous as BrokerRendezvous } from "../../../lib/broker/rendezvous.ts";
import { encodeAmpArmor } from "../../../lib/messages/amp_armor.ts";
import {
  createRendezvous,
  type Rendezvous,
  RendezvousError,
  type RendezvousOptions,
} from "../../../lib/client/rendezvous/rendezvous.ts";
import { createTestCa, startTlsStandIn, type TestCa, type TlsStandIn } from "../../support/tls_standin.ts";

const OFFER = '{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\n"}';
const ANSWER = '{"type":"answer","sdp":"v=0\\r\\no=- 3 4 IN IP4 0.0.0.0\\r\\n"}';
const FINGERPRINT = "2B280B23E1107BB62ABFC40DDCC8824814F80A72";

let ca: TestCa | undefined;
const testCa = async () =>
  ca ??= await createTestCa(["broker.test", "front1.test", "front2.test", "*.amp.test"]);

/** A broker (our handler) with a fake proxy that answers every offer; records what clients sent. */
function startBroker(options: { clientTimeoutMs?: number; proxies?: boolean } = {}) {
  const rendezvous = new BrokerRendezvous({
    proxyTimeoutMs: 30_000, // stop() releases the waiting poll
    clientTimeoutMs: options.clientTimeoutMs ?? 5_000,
    maxWaitingProxies: 4,
    maxWaitingClients: 4,
  });
  const handler = brokerHandler({ rendezvous });
  const offers: string[] = [];
  let running = options.proxies ?? true;
  const proxyLoop = (async () => {
    for (let sid = 0; running; sid++) {
      const poll = JSON.stringify({
        Sid: `sid${sid}`,
        Version: "1.3",
        Type: "standalone",
        NAT: "unrestricted",
        Clients: 0,
        AcceptedRelayPattern: "snowflake.torproject.net$",
      });
      const reply = await (await handler(new Request("http://broker/proxy", { method: "POST", body: poll })))
        .json();
      if (reply.Status !== "client match") continue;
      offers.push(reply.Offer);
      const answer = JSON.stringify({ Version: "1.3", Sid: `sid${sid}`, Answer: ANSWER });
      await (await handler(new Request("http://broker/answer", { method: "POST", body: answer }))).text();
    }
  })();
  return {
    handler: (request: Request) => handler(request, { remoteAddr: { hostname: "127.0.0.1" } }),
    offers,
    /** Until the fake proxy is waiting (a client poll finding none gets "no proxies" at once). */
    async ready() {
      const deadline = Date.now() + 30_000;
      while (rendezvous.matcher.waitingProxies < 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
    async stop() {
      running = false;
      rendezvous.close();
      await proxyLoop;
    },
  };
}

/** Names to loopback; records every host dialled. */
function loopbackDial(dialled: string[]) {
  return (hostname: string, port: number) => {
    dialled.push(`${hostname}:${port}`);
    return Deno.connect({ hostname: "127.0.0.1", port });
  };
}

/** The "CDN": routes on Host to the broker (`broker.test`) or the AMP cache (`*.amp.test`); records Host. */
function cdnHandler(
  broker: ReturnType<typeof startBroker>,
  seen: { host: string; sni: string | null; path: string }[],
) {
  return async (request: Request, sni: string | null) => {
    const url = new URL(request.url);
    const host = request.headers.get("host") ?? "";
    seen.push({ host, sni, path: url.pathname });
    if (host === "broker.test" || host.startsWith("broker.test:")) {
      return broker.handler(
        new Request(`http://broker${url.pathname}`, { method: request.method, body: request.body }),
      );
    }
    if (/\.amp\.test(:\d+)?$/.test(host)) {
      // an AMP cache: /c/s/<publisher host>/<path> fetched from the publisher (our broker), passed on if 200
      const match = /^\/c\/s\/broker\.test(\/amp\/client\/.*)$/.exec(url.pathname);
      if (!match || request.method !== "GET") return new Response("not an AMP URL", { status: 404 });
      const origin = await broker.handler(new Request(`http://broker${match[1]}`));
      return new Response(origin.body, { status: origin.status === 200 ? 200 : 404 });
    }
    return new Response("misdirected", { status: 421 });
  };
}

async function withStandIns(
  body: (env: {
    cdn: TlsStandIn;
    broker: ReturnType<typeof startBroker>;
    seen: { host: string; sni: string | null; path: string }[];
    dialled: string[];
    make: (options: Partial<RendezvousOptions>) => Rendezvous;
  }) => Promise<void>,
  brokerOptions: Parameters<typeof startBroker>[0] = {},
) {
  const tls = await testCa();
  const broker = startBroker(brokerOptions);
  const seen: { host: string; sni: string | null; path: string }[] = [];
  const cdn = startTlsStandIn({ tls, handler: cdnHandler(broker, seen) });
  const dialled: string[] = [];
  const make = (options: Partial<RendezvousOptions>) =>
    createRendezvous({
      brokerUrl: `https://broker.test:${cdn.port}/`,
      fronts: [],
      fingerprint: FINGERPRINT,
      caCerts: [tls.caPem],
      dial: loopbackDial(dialled),
      ...options,
    });
  try {
    await body({ cdn, broker, seen, dialled, make });
  } finally {
    await broker.stop();
    await cdn.close();
  }
}

Deno.test("rendezvous https: the offer reaches the broker, the proxy's answer comes back", async () => {
  await withStandIns(async ({ cdn, broker, seen, make }) => {
    const rendezvous = make({});
    assert.equal(rendezvous.method, "https");
    await broker.ready();
    assert.equal(await rendezvous.exchange(OFFER, "restricted"), ANSWER);
    assert.deepEqual(broker.offers, [OFFER]);
    assert.deepEqual(seen, [{ host: `broker.test:${cdn.port}`, sni: "broker.test", path: "/client" }]);
  });
});

Deno.test("rendezvous domain fronting: SNI and TCP go to the front, Host names the broker; a dead front is skipped", async () => {
  await withStandIns(async ({ cdn, broker, seen, dialled, make }) => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close(); // nothing listens there now: connection refused
    const rendezvous = make({
      brokerUrl: "https://broker.test/",
      fronts: [`front1.test:${deadPort}`, `front2.test:${cdn.port}`],
    });
    assert.equal(rendezvous.method, "domain-fronting");
    await broker.ready();
    assert.equal(await rendezvous.exchange(OFFER, "restricted"), ANSWER);
    assert.deepEqual(dialled, [`front1.test:${deadPort}`, `front2.test:${cdn.port}`]);
    assert.deepEqual(seen, [{ host: "broker.test", sni: "front2.test", path: "/client" }]);
    assert.deepEqual(cdn.snis, ["front2.test"]);
    // the front that worked is used first next time
    await broker.ready();
    assert.equal(await rendezvous.exchange(OFFER, "restricted"), ANSWER);
    assert.deepEqual(dialled.slice(2), [`front2.test:${cdn.port}`]);
  });
});

Deno.test("rendezvous AMP cache: GET through the cache (and a front), armored reply decoded", async () => {
  await withStandIns(async ({ cdn, broker, seen, make }) => {
    const direct = make({ brokerUrl: "https://broker.test/", ampCacheUrl: `https://amp.test:${cdn.port}/` });
    assert.equal(direct.method, "ampcache");
    await broker.ready();
    assert.equal(await direct.exchange(OFFER, "unknown"), ANSWER);
    assert.equal(seen[0].host, `broker-test.amp.test:${cdn.port}`);
    assert.equal(seen[0].sni, "broker-test.amp.test");
    assert.match(seen[0].path, /^\/c\/s\/broker\.test\/amp\/client\/0[A-Za-z0-9_-]{12}\/[A-Za-z0-9_-]+$/);
    const fronted = make({
      brokerUrl: "https://broker.test/",
      ampCacheUrl: `https://amp.test:${cdn.port}/`,
      fronts: [`front1.test:${cdn.port}`],
    });
    assert.equal(fronted.method, "ampcache");
    await broker.ready();
    assert.equal(await fronted.exchange(OFFER, "unknown"), ANSWER);
    assert.deepEqual(seen[1].sni, "front1.test");
    assert.equal(seen[1].host, `broker-test.amp.test:${cdn.port}`);
    assert.deepEqual(broker.offers, [OFFER, OFFER]);
  });
});

Deno.test("rendezvous: the broker's 'no proxies' is the no-proxies kind", async () => {
  await withStandIns(async ({ make }) => {
    await assert.rejects(
      make({}).exchange(OFFER, "unknown"),
      (error: unknown) => error instanceof RendezvousError && error.kind === "no-proxies",
    );
  }, { proxies: false, clientTimeoutMs: 50 });
});

/** A TLS server whose every reply is `respond`. */
async function withBadServer(
  respond: () => Response | Promise<Response>,
  body: (url: string, port: number) => Promise<void>,
) {
  const tls = await testCa();
  const server = startTlsStandIn({ tls, handler: respond });
  try {
    await body(`https://broker.test:${server.port}/`, server.port);
  } finally {
    await server.close();
  }
}

function badRendezvous(brokerUrl: string, extra: Partial<RendezvousOptions> = {}) {
  return createRendezvous({
    brokerUrl,
    fronts: [],
    caCerts: [ca!.caPem],
    dial: loopbackDial([]),
    ...extra,
  });
}

const kind = (k: string, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof RendezvousError, String(error));
  assert.equal(error.kind, k, error.message);
  if (message) assert.match(error.message, message);
  return true;
};

Deno.test("rendezvous bad replies: junk, a bad answer, an unknown broker error, statuses, timed out", async () => {
  const cases: [string, () => Response, (error: unknown) => boolean][] = [
    ["junk", () => new Response("<html>hello</html>"), kind("bad-reply")],
    ["not an SDP answer", () => Response.json({ answer: "not sdp" }), kind("bad-reply", /not an SDP answer/)],
    ["offer instead of answer", () => Response.json({ answer: OFFER }), kind("bad-reply")],
    ["unknown broker error", () => Response.json({ error: "go away" }), kind("bad-reply", /go away/)],
    ["broker timed out", () => Response.json({ error: "timed out waiting for answer!" }), kind("timed-out")],
    ["500", () => new Response("oops", { status: 500 }), kind("http-status", /500.*no answer/)],
    ["400", () => new Response("bad", { status: 400 }), kind("http-status")],
  ];
  for (const [why, respond, check] of cases) {
    await withBadServer(respond, async (url) => {
      await assert.rejects(badRendezvous(url).exchange(OFFER, "unknown"), check, why);
    });
  }
});

Deno.test("rendezvous huge bodies are errors, not memory: by Content-Length and as an endless stream", async () => {
  await withBadServer(() => new Response("x".repeat(200_000)), async (url) => {
    await assert.rejects(
      badRendezvous(url).exchange(OFFER, "unknown"),
      kind("bad-reply", /over 100000 bytes/),
    );
  });
  let pulled = 0;
  const endless = () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(16 * 1024).fill(0x41));
        },
      }),
    );
  await withBadServer(endless, async (url) => {
    await assert.rejects(
      badRendezvous(url).exchange(OFFER, "unknown"),
      kind("bad-reply", /over 100000 bytes/),
    );
  });
  assert.ok(pulled < 1000, `the server produced ${pulled} chunks`);
  // AMP: too large armor, and Google's silent redirect (200 with Location)
  const big = encodeAmpArmor(new Uint8Array(90_000));
  await withBadServer(() => new Response(big), async (_url, port) => {
    const amp = badRendezvous("https://broker.test/", { ampCacheUrl: `https://amp.test:${port}/` });
    await assert.rejects(amp.exchange(OFFER, "unknown"), kind("bad-reply"));
  });
  await withBadServer(
    () =>
      new Response(encodeAmpArmor(new TextEncoder().encode(`{"answer":${JSON.stringify(ANSWER)}}`)), {
        headers: { Location: "https://broker.test/" },
      }),
    async (_url, port) => {
      const amp = badRendezvous("https://broker.test/", { ampCacheUrl: `https://amp.test:${port}/` });
      await assert.rejects(amp.exchange(OFFER, "unknown"), kind("http-status", /redirect/));
    },
  );
  await withBadServer(() => new Response("<html><body>not armored</body></html>"), async (_url, port) => {
    const amp = badRendezvous("https://broker.test/", { ampCacheUrl: `https://amp.test:${port}/` });
    await assert.rejects(amp.exchange(OFFER, "unknown"), kind("bad-reply", /AMP cache reply/));
  });
});

Deno.test("rendezvous: a server that never answers times out; an abort ends the wait; a non-TLS peer is a network error", async () => {
  const never = Promise.withResolvers<void>();
  await withBadServer(() => never.promise.then(() => new Response("late")), async (url) => {
    await assert.rejects(
      badRendezvous(url, { timeoutMs: 200 }).exchange(OFFER, "unknown"),
      kind("timed-out"),
    );
    const controller = new AbortController();
    const pending = badRendezvous(url).exchange(OFFER, "unknown", controller.signal);
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(pending, kind("network", /aborted/));
    never.resolve();
  });
  // plain TCP that speaks no TLS and no HTTP
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2\r\n")).catch(() => {});
      conn.close();
    }
  })().catch(() => {});
  try {
    await assert.rejects(
      badRendezvous(`https://broker.test:${port}/`).exchange(OFFER, "unknown"),
      kind("network"),
    );
    await assert.rejects(
      badRendezvous(`http://broker.test:${port}/`).exchange(OFFER, "unknown"),
      kind("bad-reply"),
    );
  } finally {
    listener.close();
    await serving;
  }
  // a certificate from a CA we do not trust
  await withBadServer(() => Response.json({ answer: ANSWER }), async (url) => {
    await assert.rejects(badRendezvous(url, { caCerts: [] }).exchange(OFFER, "unknown"), kind("network"));
  });
});

Deno.test("rendezvous: all fronts failing reports the last error", async () => {
  await withBadServer(() => new Response("down", { status: 503 }), async (url) => {
    const port = new URL(url).port;
    const rendezvous = badRendezvous("https://broker.test/", {
      fronts: [`front1.test:${port}`, `front2.test:${port}`],
    });
    await assert.rejects(rendezvous.exchange(OFFER, "unknown"), kind("http-status"));
  });
});
