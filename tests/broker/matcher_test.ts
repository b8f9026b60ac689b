import assert from "node:assert/strict";
import { Matcher, type MatcherEvent } from "../../lib/broker/matcher.ts";
import { candidateProxyPools } from "../../lib/broker/nat_policy.ts";
import type { NatType } from "../../lib/messages/nat.ts";

const OFFER = { offer: '{"type":"offer","sdp":"v=0\\r\\n"}', relayURL: "wss://relay.example/" };

function drain(matcher: Matcher): MatcherEvent[] {
  const events: MatcherEvent[] = [];
  for (let e = matcher.pollEvent(); e; e = matcher.pollEvent()) events.push(e);
  return events;
}

Deno.test("NAT policy table (SNOWFLAKE-PROTOCOL.md §4.7, plus --allow-unknown-nat-matching)", () => {
  const table: [NatType, boolean, NatType[][]][] = [
    ["unrestricted", false, [["restricted", "unknown"]]],
    ["restricted", false, [["unrestricted"]]],
    ["unknown", false, [["unrestricted"]]],
    ["unrestricted", true, [["restricted", "unknown"]]],
    ["restricted", true, [["unrestricted"]]],
    ["unknown", true, [["unrestricted"], ["unknown"]]],
  ];
  for (const [client, allow, pools] of table) {
    assert.deepEqual(
      candidateProxyPools(client, { allowUnknownNatMatching: allow }),
      pools,
      `${client} ${allow}`,
    );
  }
});

Deno.test("matching rules: which waiting proxy each client gets (table)", () => {
  // [case, proxies waiting (nat:clients), client NAT, policy allowUnknown, expected proxy index or null]
  const table: [string, [NatType, number][], NatType, boolean, number | null][] = [
    ["unrestricted client takes a restricted proxy", [["restricted", 0]], "unrestricted", false, 0],
    ["unrestricted client takes an unknown proxy", [["unknown", 0]], "unrestricted", false, 0],
    [
      "unrestricted client never takes an unrestricted proxy",
      [["unrestricted", 0]],
      "unrestricted",
      false,
      null,
    ],
    ["restricted client takes an unrestricted proxy", [["unrestricted", 0]], "restricted", false, 0],
    ["restricted client never takes a restricted proxy", [["restricted", 0]], "restricted", false, null],
    ["restricted client never takes an unknown proxy", [["unknown", 0]], "restricted", true, null],
    ["unknown client takes an unrestricted proxy", [["unrestricted", 0]], "unknown", false, 0],
    ["unknown client and unknown proxy: reference says no", [["unknown", 0]], "unknown", false, null],
    ["unknown client and unknown proxy: our policy says yes", [["unknown", 0]], "unknown", true, 0],
    ["unknown client and restricted proxy: never", [["restricted", 0]], "unknown", true, null],
    ["policy prefers unrestricted over unknown", [["unknown", 0], ["unrestricted", 16]], "unknown", true, 1],
    [
      "fewest clients first",
      [["unrestricted", 16], ["unrestricted", 8], ["unrestricted", 24]],
      "restricted",
      false,
      1,
    ],
    ["ties go to the oldest poll", [["unrestricted", 8], ["unrestricted", 8]], "unknown", false, 0],
    [
      "restricted and unknown pools compete on clients",
      [["restricted", 8], ["unknown", 0]],
      "unrestricted",
      false,
      1,
    ],
    [
      "negative client counts do not jump the queue",
      [["unrestricted", 0], ["unrestricted", -100]],
      "restricted",
      false,
      0,
    ],
    ["nothing waiting", [], "unknown", true, null],
  ];
  for (const [name, proxies, clientNat, allow, expected] of table) {
    const matcher = new Matcher({ allowUnknownNatMatching: allow });
    const ids = proxies.map(([nat, clients], i) =>
      matcher.addProxy({ sid: `s${i}`, proxyType: "standalone", nat, clients }, 0)
    );
    const result = matcher.addClient({ ...OFFER, nat: clientNat }, 0);
    if (expected === null) {
      assert.equal(result, "no-proxy", name);
      assert.deepEqual(drain(matcher), [], name);
    } else {
      assert.equal(typeof result, "number", name);
      assert.deepEqual(drain(matcher), [{
        type: "proxy-matched",
        proxy: ids[expected],
        offer: { ...OFFER, nat: clientNat },
      }], name);
    }
  }
});

Deno.test("matcher: answer delivery, late answers and timeouts on an injected clock", () => {
  const matcher = new Matcher({ proxyTimeoutMs: 10_000, clientTimeoutMs: 5_000 });
  const p1 = matcher.addProxy({ sid: "A", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 0);
  const p2 = matcher.addProxy({ sid: "B", proxyType: "webext", nat: "unrestricted", clients: 8 }, 1_000);
  assert.equal(matcher.pollTimeout(), 10_000);
  const c1 = matcher.addClient({ ...OFFER, nat: "restricted" }, 2_000);
  assert.deepEqual(drain(matcher), [{
    type: "proxy-matched",
    proxy: p1,
    offer: { ...OFFER, nat: "restricted" },
  }]);
  assert.equal(matcher.waitingProxies, 1);
  assert.equal(matcher.waitingClients, 1);
  assert.equal(matcher.answer("B", "x"), false, "B was never matched: client gone");
  assert.equal(matcher.answer("A", "ANSWER"), true);
  assert.deepEqual(drain(matcher), [{ type: "client-answered", client: c1, answer: "ANSWER" }]);
  assert.equal(matcher.answer("A", "again"), false, "an answer is delivered once");

  // B's poll times out 10 s after it arrived, not before.
  matcher.handleTimeout(10_999);
  assert.deepEqual(drain(matcher), []);
  matcher.handleTimeout(11_000);
  assert.deepEqual(drain(matcher), [{ type: "proxy-released", proxy: p2, reason: "timeout" }]);
  assert.equal(matcher.waitingProxies, 0);

  // A client whose proxy never answers expires after clientTimeoutMs; the late answer finds no one.
  matcher.addProxy({ sid: "C", proxyType: "badge", nat: "restricted", clients: 0 }, 20_000);
  const c2 = matcher.addClient({ ...OFFER, nat: "unrestricted" }, 20_500);
  drain(matcher);
  assert.equal(matcher.pollTimeout(), 25_500);
  matcher.handleTimeout(25_500);
  assert.deepEqual(drain(matcher), [{ type: "client-expired", client: c2, reason: "timeout" }]);
  assert.equal(matcher.answer("C", "late"), false);
  assert.equal(matcher.pollTimeout(), undefined, "nothing waits any more");
});

Deno.test("matcher: bounds, session ID reuse, cancellation", () => {
  const matcher = new Matcher({ maxWaitingProxies: 2, maxWaitingClients: 1 });
  const a = matcher.addProxy({ sid: "A", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 0);
  matcher.addProxy({ sid: "B", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 0);
  assert.equal(
    matcher.addProxy({ sid: "C", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 0),
    "over-capacity",
  );
  // The same Sid polling again replaces its waiting poll (and does not count twice).
  const a2 = matcher.addProxy({ sid: "A", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 1);
  assert.deepEqual(drain(matcher), [{ type: "proxy-released", proxy: a, reason: "replaced" }]);
  assert.equal(matcher.waitingProxies, 2);

  // B first (A re-polled later), then the client bound.
  const c = matcher.addClient({ ...OFFER, nat: "unknown" }, 2);
  assert.equal(typeof c, "number");
  drain(matcher);
  assert.equal(matcher.addClient({ ...OFFER, nat: "unknown" }, 2), "over-capacity");
  // A matched Sid cannot poll again until its client is done.
  assert.equal(
    matcher.addProxy({ sid: "B", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 3),
    "sid-in-use",
  );

  // The client goes away: its proxy's answer now gets "client gone", and the Sid is free again.
  matcher.cancelClient(c as number);
  assert.equal(matcher.answer("B", "ANSWER"), false);
  assert.equal(
    typeof matcher.addProxy({ sid: "B", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 4),
    "number",
  );

  // A proxy that goes away is never handed to a client.
  matcher.cancelProxy(a2 as number);
  matcher.cancelProxy(a2 as number); // twice is harmless
  assert.equal(matcher.peekProxy("unknown")?.sid, "B");
  assert.deepEqual(drain(matcher), []);
});

Deno.test("matcher: many idle polls keep memory proportional to live ones", () => {
  const matcher = new Matcher({ proxyTimeoutMs: 10_000, maxWaitingProxies: 1_000_000 });
  // 200,000 polls from 1,000 proxies, each re-polling (replacing) 200 times: only 1,000 live at any time.
  for (let round = 0; round < 200; round++) {
    for (let p = 0; p < 1_000; p++) {
      matcher.addProxy({ sid: `p${p}`, proxyType: "standalone", nat: "restricted", clients: 0 }, round);
    }
    drain(matcher);
    matcher.handleTimeout(round);
  }
  assert.equal(matcher.waitingProxies, 1_000);
  assert.equal([...matcher.knownProxies()].length, 1_000);
  matcher.handleTimeout(1_000_000);
  assert.equal(drain(matcher).length, 1_000);
  assert.equal(matcher.waitingProxies, 0);
  assert.equal(matcher.pollTimeout(), undefined);
});

Deno.test("matcher: close releases everyone", () => {
  const matcher = new Matcher();
  const p = matcher.addProxy({ sid: "A", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 0);
  matcher.addProxy({ sid: "B", proxyType: "standalone", nat: "unrestricted", clients: 0 }, 0);
  const c = matcher.addClient({ ...OFFER, nat: "unknown" }, 0);
  drain(matcher);
  matcher.close();
  const events = drain(matcher);
  assert.deepEqual(events.map((e) => e.type).sort(), ["client-expired", "proxy-released"]);
  assert.ok(events.some((e) => e.type === "client-expired" && e.client === c));
  assert.ok(!events.some((e) => e.type === "proxy-released" && e.proxy === p), "A was matched, not waiting");
});
