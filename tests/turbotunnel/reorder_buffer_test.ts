/**
 * ReorderBuffer driven directly (hand-made KCP packets, seeded merges of
 * per-carrier streams), and in multipath_sim.ts, where the bridge's KCP stops
 * retransmitting early once the client acks in order.
 */

import assert from "node:assert/strict";
import { CMD_ACK, CMD_PUSH, decodePacket } from "../../lib/kcp/segment.ts";
import {
  MAX_HELD_PACKETS,
  ReorderBuffer,
  WAIT_GAIN,
  WAIT_MAX_MS,
  WAIT_MIN_MS,
} from "../../lib/turbotunnel/reorder_buffer.ts";
import { Prng } from "../support/random.ts";
import { kcpPacket } from "./kcp_packets.ts";
import { type LinkSpec, MultipathSim } from "./multipath_sim.ts";

const push = (sn: number) => kcpPacket([[CMD_PUSH, sn, 100]]);

/** The commands and sns of everything the buffer released so far, as "P5" / "A3". */
function released(buffer: ReorderBuffer): string[] {
  const out: string[] = [];
  for (let p = buffer.pollTransmit(); p; p = buffer.pollTransmit()) {
    try {
      for (const s of decodePacket(p)) out.push(`${s.cmd === CMD_PUSH ? "P" : "A"}${s.sn}`);
    } catch {
      out.push("junk");
    }
  }
  return out;
}

function withCarriers(...ids: number[]): ReorderBuffer {
  return upAll(new ReorderBuffer(), ids);
}

function upAll(buffer: ReorderBuffer, ids: number[]): ReorderBuffer {
  for (const carrier of ids) buffer.handleInput(0, { kind: "up", carrier });
  return buffer;
}

Deno.test("ReorderBuffer: packets in order pass straight through", () => {
  const buffer = withCarriers(0, 1);
  for (let sn = 0; sn < 10; sn++) {
    buffer.handleInput(sn, { kind: "received", carrier: sn % 2, packet: push(sn) });
  }
  assert.deepEqual(released(buffer), Array.from({ length: 10 }, (_, sn) => `P${sn}`));
  assert.equal(buffer.stats().held, 0);
  assert.equal(buffer.pollTimeout(), Infinity);
});

Deno.test("ReorderBuffer: a carrier ahead of the other waits for it; KCP sees the sns in order", () => {
  const buffer = withCarriers(0, 1);
  // The bridge alternates; carrier 1's queue is shallower, so its odd sns arrive 50 ms before carrier 0's even ones.
  for (let sn = 1; sn < 20; sn += 2) {
    buffer.handleInput(sn, { kind: "received", carrier: 1, packet: push(sn) });
  }
  assert.deepEqual(released(buffer), [], "nothing before sn 0");
  for (let sn = 0; sn < 20; sn += 2) {
    buffer.handleInput(50 + sn, { kind: "received", carrier: 0, packet: push(sn) });
  }
  assert.deepEqual(released(buffer), Array.from({ length: 20 }, (_, sn) => `P${sn}`));
  const stats = buffer.stats();
  assert.equal(stats.givenUp, 0);
  assert.equal(stats.held, 10);
  assert.ok(stats.filled >= 1);
  assert.ok(
    buffer.wait(70) >= 49 * WAIT_GAIN * 0.99,
    `the wait follows the delay that filled holes: ${buffer.wait(70)}`,
  );
});

Deno.test("ReorderBuffer: a hole every live carrier has passed is given up at once", () => {
  const buffer = withCarriers(0, 1);
  buffer.handleInput(0, { kind: "received", carrier: 0, packet: push(0) });
  buffer.handleInput(1, { kind: "received", carrier: 1, packet: push(2) }); // sn 1 missing
  assert.deepEqual(released(buffer), ["P0"]);
  assert.notEqual(buffer.pollTimeout(), Infinity);
  buffer.handleInput(2, { kind: "received", carrier: 0, packet: push(3) }); // carrier 0 is past 1 too
  assert.deepEqual(released(buffer), ["P2", "P3"]);
  assert.equal(buffer.stats().givenUp, 1);
  buffer.handleInput(3, { kind: "received", carrier: 1, packet: push(1) }); // the retransmission: straight through
  assert.deepEqual(released(buffer), ["P1"]);
  assert.equal(buffer.stats().late, 1);
});

Deno.test("ReorderBuffer: a hole is waited for at most the wait, then given up", () => {
  const buffer = withCarriers(0, 1); // carrier 1 brought nothing yet: it may bring the hole
  buffer.handleInput(0, { kind: "received", carrier: 0, packet: push(0) });
  buffer.handleInput(10, { kind: "received", carrier: 0, packet: push(2) });
  assert.deepEqual(released(buffer), ["P0"]);
  assert.equal(buffer.pollTimeout(), 10 + WAIT_MIN_MS);
  buffer.handleTimeout(10 + WAIT_MIN_MS - 1);
  assert.deepEqual(released(buffer), []);
  buffer.handleTimeout(10 + WAIT_MIN_MS);
  assert.deepEqual(released(buffer), ["P2"]);
  assert.equal(buffer.pollTimeout(), Infinity);
  // The hole turns up 300 ms after the packet behind it: later holes are waited for longer.
  buffer.handleInput(310, { kind: "received", carrier: 1, packet: push(1) });
  assert.deepEqual(released(buffer), ["P1"]);
  assert.equal(buffer.stats().late, 1);
  assert.equal(buffer.wait(310), Math.min(WAIT_MAX_MS, 300 * WAIT_GAIN));
  assert.ok(buffer.wait(310 + 20_000) < buffer.wait(310) / 3, "and the wait decays again");
});

Deno.test("ReorderBuffer: a carrier that goes down takes its holes with it", () => {
  const buffer = withCarriers(0, 1);
  buffer.handleInput(0, { kind: "received", carrier: 1, packet: push(0) });
  buffer.handleInput(1, { kind: "received", carrier: 0, packet: push(2) });
  buffer.handleInput(2, { kind: "received", carrier: 0, packet: push(3) });
  assert.deepEqual(released(buffer), ["P0"]);
  buffer.handleInput(3, { kind: "down", carrier: 1 });
  assert.deepEqual(released(buffer), ["P2", "P3"]);
  // A packet the dropped carrier still delivers is taken.
  buffer.handleInput(4, { kind: "received", carrier: 1, packet: push(1) });
  assert.deepEqual(released(buffer), ["P1"]);
});

Deno.test("ReorderBuffer: ACKs never wait; junk and packets of ACKs only go straight through", () => {
  const buffer = withCarriers(0, 1);
  buffer.handleInput(0, { kind: "received", carrier: 0, packet: push(0) });
  buffer.handleInput(1, {
    kind: "received",
    carrier: 0,
    packet: kcpPacket([[CMD_ACK, 7, 0], [CMD_PUSH, 2, 100]]),
  });
  assert.deepEqual(released(buffer), ["P0", "A7"], "the ACK goes ahead of the waiting PUSH");
  buffer.handleInput(2, { kind: "received", carrier: 1, packet: kcpPacket([[CMD_ACK, 8, 0]]) });
  const junk = new Uint8Array([1, 2, 3]);
  buffer.handleInput(3, { kind: "received", carrier: 1, packet: junk });
  assert.deepEqual(released(buffer), ["A8", "junk"]);
  buffer.handleInput(4, { kind: "received", carrier: 1, packet: push(1) });
  assert.deepEqual(released(buffer), ["P1", "P2"]);
});

Deno.test("ReorderBuffer: sns that wrap past 2³² stay in order", () => {
  const base = 0xffff_fffe;
  const buffer = upAll(new ReorderBuffer(base), [0, 1]);
  buffer.handleInput(0, { kind: "received", carrier: 0, packet: push(base) });
  buffer.handleInput(1, { kind: "received", carrier: 1, packet: push(1) });
  buffer.handleInput(2, { kind: "received", carrier: 1, packet: push(0) });
  assert.deepEqual(released(buffer), [`P${base}`]);
  buffer.handleInput(3, { kind: "received", carrier: 0, packet: push(0xffff_ffff) });
  assert.deepEqual(released(buffer), ["P4294967295", "P0", "P1"]);
});

Deno.test("ReorderBuffer: at most MAX_HELD_PACKETS wait; past that the lowest hole is given up", () => {
  const buffer = withCarriers(0, 1);
  buffer.handleInput(0, { kind: "received", carrier: 1, packet: push(0) });
  for (let sn = 2; sn < MAX_HELD_PACKETS + 10; sn++) {
    buffer.handleInput(1, { kind: "received", carrier: 0, packet: push(sn) });
    assert.ok(buffer.waiting <= MAX_HELD_PACKETS);
  }
  const out = released(buffer);
  assert.equal(out.length, MAX_HELD_PACKETS + 9, "all but the hole came out, in order");
  assert.deepEqual(out.slice(0, 3), ["P0", "P2", "P3"]);
  assert.equal(buffer.stats().givenUp, 1);
});

Deno.test("ReorderBuffer: seeded merges of carriers' streams with losses, duplicates and junk lose and add nothing", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = new Prng(seed);
    const carriers = 1 + Math.floor(random.next() * 3);
    const buffer = withCarriers(...Array.from({ length: carriers }, (_, i) => i));
    // The bridge's turn-taking: each sn to a random carrier, each carrier's stream delayed by its own queue.
    const arrivals: { at: number; carrier: number; packet: Uint8Array }[] = [];
    const queueMs = Array.from({ length: carriers }, () => random.next() * 200);
    const sent: string[] = [];
    for (let sn = 0; sn < 400; sn++) {
      const carrier = Math.floor(random.next() * carriers);
      const at = sn + queueMs[carrier];
      if (random.next() < 0.03) continue; // lost: never arrives
      sent.push(`P${sn}`);
      arrivals.push({ at, carrier, packet: push(sn) });
      if (random.next() < 0.02) {
        sent.push(`P${sn}`);
        arrivals.push({ at: at + 300, carrier, packet: push(sn) });
      }
      if (random.next() < 0.02) {
        arrivals.push({ at, carrier, packet: random.bytes(1 + Math.floor(random.next() * 40)) });
      }
    }
    arrivals.sort((a, b) => a.at - b.at); // stable: each carrier keeps its order
    const out: string[] = [];
    let now = 0;
    for (const a of arrivals) {
      while (buffer.pollTimeout() <= a.at) {
        now = buffer.pollTimeout();
        buffer.handleTimeout(now);
        out.push(...released(buffer).filter((s) => s.startsWith("P")));
      }
      now = a.at;
      buffer.handleInput(now, { kind: "received", carrier: a.carrier, packet: a.packet });
      out.push(...released(buffer).filter((s) => s.startsWith("P")));
    }
    buffer.handleTimeout(now + WAIT_MAX_MS);
    out.push(...released(buffer).filter((s) => s.startsWith("P")));
    assert.equal(buffer.waiting, 0, `seed ${seed}: nothing left waiting`);
    assert.deepEqual(
      [...out].sort(),
      [...sent].sort(),
      `seed ${seed}: every PUSH out exactly as often as in`,
    );
  }
});

Deno.test("ReorderBuffer: in the sim, two rate-limited carriers with unequal queues no longer make the bridge's KCP retransmit early", () => {
  const link: LinkSpec = { bytesPerMs: 150, latencyMs: 30, jitterMs: 3 };
  const run = (reorder: boolean) => {
    const sim = new MultipathSim({
      seed: 5,
      scheduler: { max: 2, minRedialIntervalMs: 0 },
      path: (attempt) => ({ up: link, down: { ...link, latencyMs: 30 + attempt * 60 } }),
      dialMs: (attempt) => 100 + attempt,
      upload: 20_000,
      download: 2_000_000,
      reorder,
    });
    sim.runUntil(() => sim.done, 120_000);
    return sim;
  };
  const without = run(false);
  const withReorder = run(true);
  const earlyWithout = without.server.arq.retransmits.early;
  const earlyWith = withReorder.server.arq.retransmits.early;
  assert.ok(
    earlyWithout > 100,
    `the sim reorders enough to matter: ${earlyWithout} early retransmits without`,
  );
  assert.ok(
    earlyWith * 20 < earlyWithout,
    `${earlyWith} early retransmits with the buffer, ${earlyWithout} without`,
  );
  assert.ok(withReorder.reorder!.stats().filled > 0);
});
