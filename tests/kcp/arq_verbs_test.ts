/**
 * The Arq through its verbs (handleInput, send, handleTimeout, pollTransmit,
 * pollTimeout; arq.ts module doc) with explicit times: when a flush runs, when
 * kcp-go's update loop ticks, stops and restarts, when an idle machine trims,
 * and what close leaves.
 */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { RTO_DEFAULT_MS } from "../../lib/kcp/rtt.ts";
import { CMD_ACK, CMD_PUSH, decodePacket, type Segment } from "../../lib/kcp/segment.ts";
import { packetOf, transmitted } from "./helpers.ts";

const SF = SNOWFLAKE_KCP_OPTIONS; // interval 10 ms
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const summary = (segments: Segment[]) =>
  segments.map((s) => `${s.cmd === CMD_ACK ? "ACK" : s.cmd} ${s.sn} ts ${s.ts}`);

/** Calls handleTimeout at each pollTimeout up to `until`; returns [time, segments] for each wake-up that sent something. */
function runTimer(arq: Arq, until: number): [number, Segment[]][] {
  const sent: [number, Segment[]][] = [];
  for (let at = arq.pollTimeout(); at <= until; at = arq.pollTimeout()) {
    arq.handleTimeout(at);
    const segments = transmitted(arq);
    if (segments.length > 0) sent.push([at, segments]);
  }
  return sent;
}

Deno.test("Arq verbs: a fresh machine wants no wake-up and has nothing to send", () => {
  const arq = new Arq(1, SF);
  assert.equal(arq.pollTimeout(), Infinity);
  assert.equal(arq.pollTransmit(), null);
});

Deno.test("Arq verbs: send flushes at the next pollTransmit, stamped with its time; the update loop then ticks every interval and retransmits after the RTO", () => {
  const arq = new Arq(1, SF);
  arq.send(bytes(100), 1000);
  assert.deepEqual(summary(transmitted(arq)), [`${CMD_PUSH} 0 ts 1000`]);
  assert.equal(arq.pollTimeout(), 1010, "update loop started, one interval on");
  const sent = runTimer(arq, 1000 + RTO_DEFAULT_MS);
  assert.deepEqual(sent.map(([at, s]) => [at, summary(s)]), [
    [1000 + RTO_DEFAULT_MS, [`${CMD_PUSH} 0 ts ${1000 + RTO_DEFAULT_MS}`]],
  ]);
});

Deno.test("Arq verbs: input that only brings data is acknowledged at the next tick, not at once", () => {
  const arq = new Arq(1, SF);
  assert.equal(arq.handleInput(5, packetOf({ sn: 0, ts: 3, data: bytes(1) })), null);
  assert.equal(arq.pollTransmit(), null, "no flush asked for: una did not move");
  assert.equal(arq.pollTimeout(), 15);
  arq.handleTimeout(15);
  assert.deepEqual(summary(transmitted(arq)), ["ACK 0 ts 3"]);
  assert.equal(
    arq.pollTimeout(),
    Infinity,
    "idle after that flush: the update loop stops, and nothing is to trim",
  );
});

Deno.test("Arq verbs: input that advances una flushes at the next pollTransmit; a batch of such input costs one flush", () => {
  const arq = new Arq(1, SF);
  for (let i = 0; i < 3; i++) arq.send(bytes(10, i), 0);
  transmitted(arq); // sn 0: the three writes, merged (stream mode)
  arq.send(bytes(2000), 1);
  transmitted(arq); // sn 1, 2
  // three packets, each acking one segment and carrying one from the peer
  for (let sn = 0; sn < 3; sn++) {
    arq.handleInput(5, packetOf({ cmd: CMD_ACK, sn, ts: 0, una: sn + 1 }, { sn, ts: 4, data: bytes(1) }));
  }
  assert.equal(arq.flushNeeded, true);
  const packets: Uint8Array[] = [];
  for (let packet = arq.pollTransmit(); packet !== null; packet = arq.pollTransmit()) packets.push(packet);
  assert.equal(packets.length, 1, "one flush for the batch");
  // one flush sees all three ACKs pending, and kcp-go's jitter filter keeps only the last (rcv_nxt is 3 by then)
  assert.deepEqual(decodePacket(packets[0]).map((s) => [s.cmd, s.sn]), [[CMD_ACK, 2]]);
  assert.equal(arq.flushNeeded, false);
});

Deno.test("Arq verbs: an idle machine that grew its pools wakes once, after idleTrimMs of quiet, and trims", () => {
  const a = new Arq(1, SF, { idleTrimMs: 1000 });
  const b = new Arq(1, SF);
  const fresh = new Arq(1, SF).footprint;
  a.send(new Uint8Array(300_000), 0);
  let now = 0;
  let lastInput = 0;
  const exchange = () => {
    for (let p = a.pollTransmit(); p !== null; p = a.pollTransmit()) b.handleInput(now, p.slice());
    while (b.read() !== null);
    for (let p = b.pollTransmit(); p !== null; p = b.pollTransmit()) {
      a.handleInput(now, p.slice());
      lastInput = now;
    }
  };
  for (; now < 2000 && !(a.idle && b.idle); now += 10) {
    exchange();
    if (a.pollTimeout() <= now) a.handleTimeout(now);
    if (b.pollTimeout() <= now) b.handleTimeout(now);
    exchange();
  }
  assert.ok(a.idle && a.canTrim, "all acknowledged, pools grown");
  const wakes: number[] = [];
  for (let at = a.pollTimeout(); at !== Infinity && wakes.length < 5; at = a.pollTimeout()) {
    wakes.push(at);
    a.handleTimeout(at);
  }
  assert.equal(wakes.at(-1), lastInput + 1000, `wake-ups ${wakes}: the last one trims`);
  assert.ok(wakes.length <= 2, "at most one tick to find the machine idle, then the trim");
  assert.equal(a.footprint.ringSlots, fresh.ringSlots);
  assert.equal(a.pollTimeout(), Infinity, "nothing left to give back");
});

Deno.test("Arq verbs: close sends the last flush, then every verb but read and pollTransmit does nothing", () => {
  const arq = new Arq(1, SF);
  arq.handleInput(0, packetOf({ sn: 0, ts: 1, data: bytes(3) }));
  arq.send(bytes(5), 2);
  arq.close(4);
  assert.deepEqual(summary(transmitted(arq)), ["ACK 0 ts 1", `${CMD_PUSH} 0 ts 4`]);
  assert.equal(arq.closed, true);
  assert.equal(arq.pollTimeout(), Infinity);
  arq.send(bytes(5), 5);
  assert.equal(arq.handleInput(6, packetOf({ sn: 1, ts: 1, data: bytes(3) })), null);
  arq.handleTimeout(100);
  assert.equal(arq.pollTransmit(), null);
  assert.deepEqual(arq.read(), bytes(3), "what was received stays readable");
});
