/**
 * Every broker endpoint through the request handler, against the bodies and
 * statuses of SNOWFLAKE-PROTOCOL.md §4–§5. Timeouts are a few ms so waiting
 * cases end quickly; no assertion depends on timing.
 */
import assert from "node:assert/strict";
import { type BrokerDeps, brokerHandler } from "../../lib/broker/handler.ts";
import { Rendezvous } from "../../lib/broker/rendezvous.ts";
import { BridgeList } from "../../lib/broker/bridge_list.ts";
import { BrokerMetrics } from "../../lib/broker/metrics.ts";
import { AMP_BOILERPLATE_START, decodeAmpArmor } from "../../lib/messages/amp_armor.ts";
import { encodeAmpPath } from "../../lib/messages/amp_path.ts";
import { encodeClientPollRequest } from "../../lib/messages/client_poll.ts";

const OFFER = '{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\n"}';
const ANSWER = '{"type":"answer","sdp":"v=0\\r\\no=- 3 4 IN IP4 0.0.0.0\\r\\n"}';
const NO_MATCH = '{"Status":"no match","Offer":"","NAT":"","RelayURL":""}';
const CORS = { "access-control-allow-origin": "*", "access-control-allow-headers": "Origin, X-Session-ID" };

function setup(options: { proxyTimeoutMs?: number; clientTimeoutMs?: number } & Partial<BrokerDeps> = {}) {
  const rendezvous = new Rendezvous({
    proxyTimeoutMs: options.proxyTimeoutMs ?? 20,
    clientTimeoutMs: options.clientTimeoutMs ?? 20,
    maxWaitingProxies: 4,
    maxWaitingClients: 2,
  });
  const metrics = new BrokerMetrics();
  const handler = brokerHandler({ rendezvous, metrics, ...options });
  const info = { remoteAddr: { hostname: "192.0.2.7" } };
  const request = (path: string, init: RequestInit = {}) =>
    handler(new Request(`http://broker${path}`, { method: "POST", ...init }), info);
  return { rendezvous, metrics, handler, request };
}

function proxyPoll(sid: string, nat = "unrestricted", extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    Sid: sid,
    Version: "1.3",
    Type: "standalone",
    NAT: nat,
    Clients: 0,
    AcceptedRelayPattern: "snowflake.torproject.net$",
    ...extra,
  });
}

function clientPoll(nat = "unknown", offer = OFFER) {
  return encodeClientPollRequest({ offer, nat });
}

/** Waits until the matcher holds `n` polls (the handler registers them after reading the body). */
async function untilWaiting(rendezvous: Rendezvous, n: number) {
  for (let i = 0; i < 1000 && rendezvous.matcher.waitingProxies < n; i++) {
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.equal(rendezvous.matcher.waitingProxies, n);
}

Deno.test("/robots.txt, /debug, unknown paths, /amp/client redirect, OPTIONS", async () => {
  const { request, rendezvous } = setup();
  const robots = await request("/robots.txt", { method: "GET" });
  assert.equal(robots.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await robots.text(), "User-agent: *\nDisallow: /\n");

  const debug = await request("/debug", { method: "GET" });
  assert.equal(debug.headers.get("access-control-allow-origin"), "*");
  assert.equal(
    await debug.text(),
    "current snowflakes available: 0\n\tunknown proxies: 0\nNAT Types available:\n\trestricted: 0\n\tunrestricted: 0\n\tunknown: 0",
  );

  const missing = await request("/nope");
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), "404 page not found\n");
  assert.equal((await request("/proxy/")).status, 404, "exact paths, as Go's mux");

  const redirect = await request("/amp/client", { method: "GET" });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get("location"), "/amp/client/");

  for (const path of ["/proxy", "/client", "/answer", "/debug", "/metrics", "/amp/client/x"]) {
    const preflight = await request(path, { method: "OPTIONS" });
    assert.equal(preflight.status, 200, path);
    assert.equal(await preflight.text(), "", path);
    for (const [k, v] of Object.entries(CORS)) assert.equal(preflight.headers.get(k), v, `${path} ${k}`);
  }
  rendezvous.close();
});

Deno.test("/proxy: no match after the timeout, exact Go body (§4.5)", async () => {
  const { request, rendezvous, metrics } = setup();
  const response = await request("/proxy", { body: proxyPoll("sid1") });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), NO_MATCH);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.equal(metrics.counts.proxyIdle, 1);
  assert.equal(metrics.addressesByType.get("standalone")?.has("192.0.2.7"), true);
  rendezvous.close();
});

Deno.test("full rendezvous: /proxy, /client, /answer (§4.2, §4.5, §4.6)", async () => {
  const { request, rendezvous, metrics } = setup({ proxyTimeoutMs: 5_000, clientTimeoutMs: 5_000 });
  const polled = request("/proxy", { body: proxyPoll("sidA", "unrestricted") });
  await untilWaiting(rendezvous, 1);

  const debug = await (await request("/debug")).text();
  assert.equal(
    debug,
    "current snowflakes available: 1\n\tstandalone proxies: 1\n\tunknown proxies: 0\nNAT Types available:\n\trestricted: 0\n\tunrestricted: 1\n\tunknown: 0",
  );

  const client = request("/client", { body: clientPoll("restricted") });
  const proxyResponse = await polled;
  assert.equal(
    await proxyResponse.text(),
    `{"Status":"client match","Offer":${
      JSON.stringify(OFFER)
    },"NAT":"restricted","RelayURL":"wss://snowflake.torproject.net/"}`,
  );
  const answered = await request("/answer", {
    body: JSON.stringify({ Version: "1.3", Sid: "sidA", Answer: ANSWER }),
  });
  assert.equal(await answered.text(), '{"Status":"success"}');
  const clientResponse = await client;
  assert.equal(clientResponse.status, 200);
  assert.equal(await clientResponse.text(), `{"answer":${JSON.stringify(ANSWER)}}`);
  assert.equal(metrics.counts.clientMatch, 1);

  const late = await request("/answer", {
    body: JSON.stringify({ Version: "1.3", Sid: "sidA", Answer: ANSWER }),
  });
  assert.equal(await late.text(), '{"Status":"client gone"}');
  rendezvous.close();
});

Deno.test("/client versioned: no proxies, timeout, decode errors, invalid SDP, unknown bridge (§4.2)", async () => {
  const { request, rendezvous, metrics } = setup({ proxyTimeoutMs: 5_000 });
  const none = await request("/client", { body: clientPoll("unknown") });
  assert.equal(none.status, 200);
  assert.equal(await none.text(), '{"error":"no snowflake proxies currently available"}');
  assert.equal(metrics.counts.clientDenied, 1);
  assert.equal(metrics.counts.clientRestrictedDenied, 1);

  // A proxy that never answers: the client gets Go's timeout text; the proxy's late answer finds no one.
  const polled = request("/proxy", { body: proxyPoll("silent", "unrestricted") });
  await untilWaiting(rendezvous, 1);
  const timedOut = await request("/client", { body: clientPoll("unknown") });
  assert.equal(await timedOut.text(), '{"error":"timed out waiting for answer!"}');
  await (await polled).text();
  const late = await request("/answer", {
    body: JSON.stringify({ Version: "1.3", Sid: "silent", Answer: ANSWER }),
  });
  assert.equal(await late.text(), '{"Status":"client gone"}');

  const errors: [string, string][] = [
    ["2.0\n{}", "unsupported message version"],
    ["no newline", "unsupported message version"],
    ['1.0\n{"nat":"unknown"}', "no supplied offer"],
    ['1.0\n{"offer":"x","fingerprint":"1234"}', "cannot decode fingerprint"],
    ['1.0\n{"offer":"x","nat":"symmetric"}', "invalid NAT type"],
    ['1.0\n{"offer":"{\\"type\\":1,\\"sdp\\":\\"v=0\\"}"}', "invalid SDP: unknown type"],
    ['1.0\n{"offer":"not json"}', "invalid SDP: not JSON"],
  ];
  for (const [body, error] of errors) {
    const response = await request("/client", { body });
    assert.equal(response.status, 200, body);
    assert.equal(await response.text(), JSON.stringify({ error }), body);
  }
  const malformed = await request("/client", { body: "1.0\n{" });
  assert.equal(malformed.status, 200);
  assert.match(JSON.parse(await malformed.text()).error, /^invalid JSON/);

  // Well-formed fingerprint that is not in the bridge list: 500, empty body.
  const unknownBridge = await request("/client", {
    body: encodeClientPollRequest({ offer: OFFER, nat: "unknown", fingerprint: "AB".repeat(20) }),
  });
  assert.equal(unknownBridge.status, 500);
  assert.equal(await unknownBridge.text(), "");
  rendezvous.close();
});

Deno.test("/client legacy: bare answer, 503, 504, 400 for a bad NAT header (§4.3)", async () => {
  const { request, rendezvous } = setup({ proxyTimeoutMs: 5_000 });
  const none = await request("/client", { body: OFFER, headers: { "Snowflake-NAT-Type": "restricted" } });
  assert.equal(none.status, 503);
  assert.equal(await none.text(), "");

  const bad = await request("/client", { body: OFFER, headers: { "Snowflake-NAT-Type": "bogus" } });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  const badOffer = await request("/client", { body: '{"type":"answer","sdp":"v=0\\r\\n"}' });
  assert.equal(badOffer.status, 400);
  await badOffer.body?.cancel();

  let polled = request("/proxy", { body: proxyPoll("legacyA", "unrestricted") });
  await untilWaiting(rendezvous, 1);
  const timeout = await request("/client", { body: OFFER, headers: { "Snowflake-NAT-Type": "restricted" } });
  assert.equal(timeout.status, 504);
  assert.equal(await timeout.text(), "");
  await (await polled).text();

  polled = request("/proxy", { body: proxyPoll("legacyB", "unrestricted") });
  await untilWaiting(rendezvous, 1);
  const client = request("/client", { body: OFFER, headers: { "Snowflake-NAT-Type": "unknown" } });
  const match = JSON.parse(await (await polled).text());
  assert.equal(match.Offer, OFFER);
  assert.equal(match.NAT, "unknown");
  await (await request("/answer", {
    body: JSON.stringify({ Version: "1.3", Sid: "legacyB", Answer: ANSWER }),
  })).text();
  const answered = await client;
  assert.equal(answered.status, 200);
  assert.equal(await answered.text(), ANSWER);
  rendezvous.close();
});

Deno.test("/amp/client/: armored answers and errors (§4.4, §5)", async () => {
  const { request, rendezvous } = setup({ proxyTimeoutMs: 5_000, clientTimeoutMs: 5_000 });
  const get = (path: string) => request(path, { method: "GET" });
  const decode = async (response: Response) => {
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html");
    assert.equal(response.headers.get("cache-control"), "max-age=15");
    const html = await response.text();
    assert.ok(html.startsWith(AMP_BOILERPLATE_START));
    return new TextDecoder().decode(decodeAmpArmor(html));
  };
  assert.equal(await decode(await get("/amp/client/garbage")), '{"error":"cannot decode URL path"}');
  assert.equal(await decode(await get("/amp/client/0abc")), '{"error":"cannot decode URL path"}');
  const legacyInPath = "/amp/client/" + encodeAmpPath(new TextEncoder().encode(OFFER));
  assert.equal(await decode(await get(legacyInPath)), '{"error":"unsupported message version"}');
  const path = "/amp/client/" + encodeAmpPath(clientPoll("restricted"));
  assert.equal(await decode(await get(path)), '{"error":"no snowflake proxies currently available"}');

  const polled = request("/proxy", { body: proxyPoll("ampA", "unrestricted") });
  await untilWaiting(rendezvous, 1);
  const client = get(path);
  assert.equal(JSON.parse(await (await polled).text()).Status, "client match");
  await (await request("/answer", { body: JSON.stringify({ Version: "1.3", Sid: "ampA", Answer: ANSWER }) }))
    .text();
  assert.equal(await decode(await client), JSON.stringify({ answer: ANSWER }));

  const unknownBridge = await get(
    "/amp/client/" +
      encodeAmpPath(encodeClientPollRequest({ offer: OFFER, nat: "unknown", fingerprint: "CD".repeat(32) })),
  );
  assert.equal(unknownBridge.status, 500);
  await unknownBridge.body?.cancel();
  rendezvous.close();
});

Deno.test("/proxy: decode errors are 400, relay patterns, versions through 1.3", async () => {
  const bridges = BridgeList.parse(
    '{"displayName":"t","webSocketAddress":"wss://relay.example.net/","fingerprint":"' + "AB".repeat(20) +
      '"}\n',
  );
  const { request, rendezvous, metrics } = setup({
    bridges,
    allowedRelayPattern: "relay.example.net$",
    defaultRelayPattern: "example.net$",
  });
  for (
    const body of [
      "",
      "{",
      "[]",
      JSON.stringify({ Sid: "s", Version: "2.0" }),
      JSON.stringify({ Version: "1.3" }),
      JSON.stringify({ Sid: "s", Version: "1.3", NAT: "cone" }),
      JSON.stringify({ Sid: "s", Version: "1.3", Clients: "8" }),
    ]
  ) {
    const response = await request("/proxy", { body });
    assert.equal(response.status, 400, body);
    assert.equal(await response.text(), "", body);
  }
  const rejected = await request("/proxy", {
    body: proxyPoll("p1", "unknown", { AcceptedRelayPattern: "other.net$" }),
  });
  assert.equal(
    await rejected.text(),
    '{"Status":"incorrect relay pattern","Offer":"","NAT":"","RelayURL":""}',
  );
  assert.equal(metrics.counts.proxyRejectedForRelayUrl, 1);
  // An exact proxy pattern is not a superset of a suffix pattern (§4.9).
  const exact = await request("/proxy", {
    body: proxyPoll("p1", "unknown", { AcceptedRelayPattern: "^relay.example.net$" }),
  });
  assert.equal(JSON.parse(await exact.text()).Status, "incorrect relay pattern");
  // A superset pattern, the same pattern, a legacy proxy judged by --default-relay-pattern; versions 1.0 to 1.3.
  const accepted = [
    [{ AcceptedRelayPattern: "example.net$" }, "1.3"],
    [{ AcceptedRelayPattern: "relay.example.net$" }, "1.2"],
    [{ AcceptedRelayPattern: undefined }, "1.0"],
  ] as const;
  for (const [extra, version] of accepted) {
    const response = await request("/proxy", {
      body: proxyPoll("p2", "unknown", { ...extra, Version: version }),
    });
    assert.equal(await response.text(), NO_MATCH, JSON.stringify(extra));
  }
  assert.equal(metrics.counts.proxyPollWithoutRelayUrl, 1);
  // The matched proxy gets the relay of the bridge the client asked for.
  const polled = request("/proxy", {
    body: proxyPoll("p3", "unrestricted", { AcceptedRelayPattern: "example.net$" }),
  });
  await untilWaiting(rendezvous, 1);
  const client = request("/client", {
    body: encodeClientPollRequest({ offer: OFFER, nat: "unknown", fingerprint: "ab".repeat(20) }),
  });
  assert.equal(JSON.parse(await (await polled).text()).RelayURL, "wss://relay.example.net/");
  assert.equal(await (await client).text(), '{"error":"timed out waiting for answer!"}');
  rendezvous.close();
});

Deno.test("/answer: malformed requests are 400 (§4.6)", async () => {
  const { request, rendezvous } = setup();
  for (
    const body of [
      "",
      "nope",
      JSON.stringify({ Version: "3.0", Sid: "s", Answer: ANSWER }),
      JSON.stringify({ Version: "1.3", Sid: "", Answer: ANSWER }),
      JSON.stringify({ Version: "1.3", Sid: "s", Answer: "" }),
      JSON.stringify({ Version: "1.3", Sid: "s", Answer: OFFER }), // an offer is not an answer
      JSON.stringify({ Version: "1.3", Sid: "s", Answer: "v=0" }),
    ]
  ) {
    const response = await request("/answer", { body });
    assert.equal(response.status, 400, body);
    await response.body?.cancel();
  }
  const gone = await request("/answer", {
    body: JSON.stringify({ version: "1.3", sid: "unknown", answer: ANSWER }),
  });
  assert.equal(await gone.text(), '{"Status":"client gone"}', "lower-case keys are accepted, as Go does");
  rendezvous.close();
});

Deno.test("oversized bodies: 400 without reading them whole (§4.1)", async () => {
  const { request, rendezvous } = setup();
  for (const path of ["/proxy", "/client", "/answer"]) {
    const declared = await request(path, { body: "x".repeat(100_001) });
    assert.equal(declared.status, 400, path);
    await declared.body?.cancel();
    // No Content-Length: a stream that would go on for 10 MB is cut off after the limit.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 10_000_000) return controller.close();
        sent += 16_384;
        controller.enqueue(new Uint8Array(16_384).fill(0x20));
      },
    });
    const streamed = await request(path, { body: stream });
    assert.equal(streamed.status, 400, path);
    await streamed.body?.cancel();
    assert.ok(sent < 200_000, `${path}: read ${sent} bytes of an oversized body`);
  }
  const exact = await request("/proxy", {
    body: proxyPoll("x") + " ".repeat(100_000 - proxyPoll("x").length),
  });
  assert.equal(exact.status, 200, "exactly the limit is fine");
  await exact.body?.cancel();
  rendezvous.close();
});

Deno.test("waiting bounds: 503 with Retry-After past --max-waiting-proxies / --max-waiting-clients", async () => {
  const { request, rendezvous, metrics } = setup({ proxyTimeoutMs: 5_000, clientTimeoutMs: 5_000 });
  const polls = [0, 1, 2, 3].map((i) => request("/proxy", { body: proxyPoll(`b${i}`, "unrestricted") }));
  await untilWaiting(rendezvous, 4);
  const refused = await request("/proxy", { body: proxyPoll("b4", "unrestricted") });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "5");
  await refused.body?.cancel();
  const clients = [0, 1].map(() => request("/client", { body: clientPoll("unknown") }));
  for (let i = 0; i < 1000 && rendezvous.matcher.waitingClients < 2; i++) {
    await new Promise((r) => setTimeout(r, 1));
  }
  const refusedClient = await request("/client", { body: clientPoll("unknown") });
  assert.equal(refusedClient.status, 503);
  await refusedClient.body?.cancel();
  assert.equal(metrics.overCapacityTotal.get("proxy"), 1);
  assert.equal(metrics.overCapacityTotal.get("client"), 1);
  rendezvous.close();
  for (const response of [...await Promise.all(polls), ...await Promise.all(clients)]) {
    await response.body?.cancel();
  }
});

Deno.test("disconnects: a proxy that leaves is not matched; a client that leaves gets its answer refused", async () => {
  const { handler, rendezvous } = setup({ proxyTimeoutMs: 5_000, clientTimeoutMs: 5_000 });
  const post = (path: string, body: BodyInit, signal?: AbortSignal) =>
    handler(new Request(`http://broker${path}`, { method: "POST", body, signal }), {});

  const proxyGone = new AbortController();
  const polled = post("/proxy", proxyPoll("leaver", "unrestricted"), proxyGone.signal);
  await untilWaiting(rendezvous, 1);
  proxyGone.abort();
  await polled;
  assert.equal(rendezvous.matcher.waitingProxies, 0);
  assert.equal(
    await (await post("/client", clientPoll("unknown"))).text(),
    '{"error":"no snowflake proxies currently available"}',
  );

  const stays = post("/proxy", proxyPoll("stays", "unrestricted"));
  await untilWaiting(rendezvous, 1);
  const clientGone = new AbortController();
  const client = post("/client", clientPoll("unknown"), clientGone.signal);
  assert.equal(JSON.parse(await (await stays).text()).Status, "client match");
  clientGone.abort();
  await client;
  const answer = await post("/answer", JSON.stringify({ Version: "1.3", Sid: "stays", Answer: ANSWER }));
  assert.equal(await answer.text(), '{"Status":"client gone"}');
  assert.equal(rendezvous.matcher.waitingClients, 0);
  rendezvous.close();
});

Deno.test("/metrics serves the metrics log file; 404 without one; /prometheus", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "snowflake-stats-end 2026-01-01 00:00:00 (86400 s)\n");
  const withLog = setup({ metricsLogPath: path });
  const served = await withLog.request("/metrics", { method: "GET" });
  assert.equal(served.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await served.text(), "snowflake-stats-end 2026-01-01 00:00:00 (86400 s)\n");
  await Deno.remove(path);
  const gone = await withLog.request("/metrics", { method: "GET" });
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  const without = setup();
  const none = await without.request("/metrics", { method: "GET" });
  assert.equal(none.status, 404);
  assert.equal(none.headers.get("access-control-allow-origin"), "*");
  await none.body?.cancel();

  await (await without.request("/proxy", { body: proxyPoll("prom", "restricted") })).text();
  const prom = await without.request("/prometheus", { method: "GET" });
  assert.equal(prom.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await prom.text();
  assert.match(text, /^# TYPE snowflake_rounded_proxy_poll_total counter$/m);
  assert.match(text, /^snowflake_rounded_proxy_poll_total\{nat="restricted",status="idle"\} 8$/m);
  assert.match(text, /^snowflake_proxy_total\{cc="\?\?",nat="restricted",type="standalone"\} 1$/m);
  assert.match(text, /^snowflake_waiting_clients 0$/m);
  withLog.rendezvous.close();
  without.rendezvous.close();
});
