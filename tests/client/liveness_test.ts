/** CarrierLiveness, the dead-proxy rule, driven with explicit times (no timers). */

import assert from "node:assert/strict";
import { CarrierLiveness } from "../../lib/client/liveness.ts";

const config = { silenceMs: 4_000, idleMs: 20_000 };

Deno.test("liveness: a carrier that sends and hears nothing back for silenceMs is 'silent'", () => {
  const l = new CarrierLiveness(0, config);
  l.handleSend(1_000);
  l.handleSend(3_000); // later sends do not move the start of the silence
  assert.equal(l.pollTimeout(), 5_000);
  l.handleTimeout(4_999);
  assert.equal(l.verdict, null);
  l.handleTimeout(5_000);
  assert.equal(l.verdict, "silent");
  assert.equal(l.pollTimeout(), Infinity);
});

Deno.test("liveness: each received packet answers the sends before it", () => {
  const l = new CarrierLiveness(0, config);
  for (let t = 0; t < 60_000; t += 500) {
    l.handleSend(t);
    l.handleReceive(t + 300); // an ACK within an RTT
    l.handleTimeout(t + 400);
  }
  assert.equal(l.verdict, null);
  // A send after the last receive starts a new silence.
  l.handleSend(60_000);
  assert.equal(l.pollTimeout(), 64_000);
  l.handleReceive(63_000);
  assert.equal(l.pollTimeout(), 83_000, "only the idle rule is left");
});

Deno.test("liveness: an idle carrier (nothing sent) is dropped only after idleMs without input (Go's rule)", () => {
  const l = new CarrierLiveness(0, config);
  l.handleTimeout(19_999);
  assert.equal(l.verdict, null);
  l.handleReceive(10_000); // a keepalive from the bridge
  l.handleTimeout(29_999);
  assert.equal(l.verdict, null);
  l.handleTimeout(30_000);
  assert.equal(l.verdict, "idle");
});

Deno.test("liveness: a verdict stays; later input does not revive the carrier", () => {
  const l = new CarrierLiveness(0, config);
  l.handleSend(0);
  l.handleSend(4_000); // handleSend checks the rules too
  assert.equal(l.verdict, "silent");
  l.handleReceive(4_001);
  l.handleTimeout(4_002);
  assert.equal(l.verdict, "silent");
});

Deno.test("liveness: the silence rule fires at the first deadline whatever the send pattern (seeded)", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let run = 0; run < 1_000; run++) {
    const l = new CarrierLiveness(0, config);
    let t = 0;
    let lastReceive = 0;
    let firstUnanswered: number | null = null;
    while (l.verdict === null && t < 100_000) {
      t += Math.floor(random() * 1_500);
      if (random() < 0.5) {
        l.handleSend(t);
        firstUnanswered ??= t;
      } else if (random() < 0.3) {
        l.handleReceive(t);
        lastReceive = t;
        firstUnanswered = null;
      }
      const due = Math.min(lastReceive + config.idleMs, (firstUnanswered ?? Infinity) + config.silenceMs);
      assert.equal(l.pollTimeout(), l.verdict === null ? due : Infinity);
      l.handleTimeout(t);
      if (l.verdict !== null) assert.ok(t >= due, `run ${run}: verdict at ${t} before ${due}`);
      else assert.ok(t < due);
    }
  }
});

Deno.test("liveness: a packet on another carrier of the session answers this one's sends (the bridge answers on any)", () => {
  const l = new CarrierLiveness(0, config);
  l.handleSend(1_000);
  l.handleSiblingReceive(4_000); // the ACK came back on the other proxy
  l.handleTimeout(6_000);
  assert.equal(l.verdict, null, "not silent: the session heard back");
  l.handleSend(6_000);
  assert.equal(l.pollTimeout(), 10_000);
  l.handleTimeout(10_000);
  assert.equal(l.verdict, "silent", "nothing back on any carrier for silenceMs: every path is dead");
});
