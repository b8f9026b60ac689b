/** The Arq's kcp-go behaviours (KCP-SMUX.md §4), one rule per test, driven with explicit times. */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { KcpError } from "../../lib/kcp/error.ts";
import { KCP_DEFAULT_OPTIONS, SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { SEGMENT_CHARGE } from "../../lib/kcp/receive_buffer.ts";
import { CMD_ACK, CMD_PUSH, CMD_WINS } from "../../lib/kcp/segment.ts";
import { flushDecoded, flushSegments, flushTo, packetOf } from "./helpers.ts";

const SF = SNOWFLAKE_KCP_OPTIONS;
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const pushes = (...sns: number[]) => sns.map((sn) => ({ sn, ts: 100 + sn, data: bytes(1, sn) }));
const acks = (una: number, ...sns: number[]) => sns.map((sn) => ({ cmd: CMD_ACK, sn, ts: 0, una }));

/** A sender with `count` one-byte segments sent at time 0 (sn 0…count−1). */
function senderWith(count: number, options = SF): Arq {
  const arq = new Arq(1, options);
  for (let i = 0; i < count; i++) {
    arq.send(bytes(1), 0);
    flushTo(arq, 0, () => {});
  }
  return arq;
}

Deno.test("Arq §4.6 step 3: in-order PUSHes get one ACK (the last), carrying una", () => {
  const arq = new Arq(1, SF);
  arq.handleInput(10, packetOf(...pushes(0, 1, 2)));
  const sent = flushSegments(arq, 10);
  assert.deepEqual(sent.map((s) => [s.cmd, s.sn, s.una, s.ts]), [[CMD_ACK, 2, 3, 102]]);
});

Deno.test("Arq §4.6 step 3: out-of-order PUSHes are each acked; sn below una filtered except the last", () => {
  const arq = new Arq(1, SF);
  arq.handleInput(10, packetOf(...pushes(1, 2)));
  assert.deepEqual(flushSegments(arq, 10).map((s) => [s.sn, s.una]), [[1, 0], [2, 0]]);
  arq.handleInput(20, packetOf(...pushes(5, 0, 3))); // 0 fills the hole, then 3: rcv_nxt 4, so 0 is filtered
  assert.deepEqual(flushSegments(arq, 20).map((s) => [s.sn, s.una]), [[5, 4], [3, 4]]);
});

Deno.test("Arq §4.8: duplicates and old segments are acked again; beyond the window nothing", () => {
  const arq = new Arq(1, { ...SF, rcvWnd: 8 });
  arq.handleInput(1, packetOf(...pushes(0, 0, 3, 3)));
  assert.deepEqual(flushSegments(arq, 1).map((s) => s.sn), [3, 3], "both 0s are below una and not last");
  arq.handleInput(2, packetOf(...pushes(0, 8, 9))); // window [1, 9): 0 is old (acked, filtered), 9 is outside
  assert.deepEqual(flushSegments(arq, 2).map((s) => s.sn), [8]);
  assert.equal(arq.read()!.length, 1, "one byte (sn 0) readable, sn 3 and 8 wait for the holes");
});

Deno.test("Arq §4.7: fast-ack counts per ACK; early retransmit at the next flush without new data", () => {
  const arq = senderWith(3);
  arq.handleInput(5, packetOf(...acks(0, 1, 2)));
  assert.equal(arq.flushNeeded, false, "una did not move");
  assert.deepEqual(
    flushSegments(arq, 5).map((s) => [s.cmd, s.sn, s.ts]),
    [[CMD_PUSH, 0, 5]],
    "sn 0 resent alone",
  );
  assert.deepEqual(flushSegments(arq, 6), [], "fastack was reset");
});

Deno.test("Arq §4.6 rule 10.3: no early retransmit in a flush that moves new data", () => {
  const arq = senderWith(2);
  arq.handleInput(5, packetOf(...acks(0, 1)));
  arq.send(bytes(1), 0);
  assert.deepEqual(flushSegments(arq, 5).map((s) => s.sn), [2], "only the new segment");
  assert.deepEqual(flushSegments(arq, 6).map((s) => s.sn), [0], "then the early retransmit");
});

Deno.test("Arq §4.7: only segments sent no later than the acked one gain fastack", () => {
  const arq = senderWith(2);
  arq.handleInput(5, packetOf(...acks(0, 1)));
  flushSegments(arq, 5); // sn 0 resent with ts 5
  arq.handleInput(6, packetOf({ cmd: CMD_ACK, sn: 1, ts: 0, una: 0 })); // an old ACK (ts 0) for sn 1 again
  assert.deepEqual(flushSegments(arq, 7), [], "ts 5 > 0: sn 0 is not counted");
});

Deno.test("Arq §4.6 rule 10.2: fast retransmit after `resend` skips, even while new data moves", () => {
  const arq = senderWith(3, { ...SF, resend: 2 });
  arq.handleInput(5, packetOf(...acks(0, 1, 2)));
  arq.send(bytes(1), 0);
  assert.deepEqual(flushSegments(arq, 5).map((s) => s.sn), [0, 3]);
});

Deno.test("Arq §4.7: timeout backoff is linear (R, 2R, 3R…) with nodelay 0, half steps with nodelay", () => {
  const times = (nodelay: number) => {
    const arq = new Arq(1, { ...SF, nodelay });
    arq.send(bytes(1), 0);
    const sentAt: number[] = [];
    for (let t = 0; t <= 3000; t++) if (flushSegments(arq, t).length > 0) sentAt.push(t);
    return sentAt;
  };
  assert.deepEqual(times(0), [0, 200, 600, 1200, 2000, 3000]);
  assert.deepEqual(times(1), [0, 200, 500, 900, 1400, 2000, 2700]);
});

Deno.test("Arq §4.14: flush returns now + the nearest retransmission, at most now + interval", () => {
  const arq = new Arq(1, { ...SF, interval: 50 });
  assert.equal(flushTo(arq, 1000, () => {}), 1050);
  arq.send(bytes(1), 0);
  flushTo(arq, 1000, () => {}); // resend due at 1200
  assert.equal(flushTo(arq, 1180, () => {}), 1200);
  assert.equal(flushTo(arq, 1199.5, () => {}), 1199.5 + 1, "ms resolution on the u32 clock");
});

Deno.test("Arq §4.8 step 5: una advancing asks for an immediate flush; the ACK frees the window", () => {
  const arq = senderWith(2);
  assert.equal(arq.waitSnd, 2);
  arq.handleInput(5, packetOf({ cmd: CMD_ACK, sn: 1, ts: 0, una: 0 }));
  assert.equal(arq.flushNeeded, false);
  assert.equal(arq.waitSnd, 2, "acked sn 1 stays in snd_buf until una passes it (kcp-go)");
  arq.handleInput(6, packetOf({ cmd: CMD_ACK, sn: 0, ts: 0, una: 2 }));
  assert.equal(arq.flushNeeded, true);
  assert.equal(arq.waitSnd, 0);
  assert.equal(arq.sndUna, 2);
  flushSegments(arq, 6);
  assert.equal(arq.flushNeeded, false);
});

Deno.test("Arq §4.8 step 3: one RTT sample per packet, from its last ACK", () => {
  const arq = senderWith(2);
  arq.handleInput(
    50,
    packetOf({ cmd: CMD_ACK, sn: 0, ts: 0, una: 0 }, { cmd: CMD_ACK, sn: 1, ts: 40, una: 0 }),
  );
  assert.deepEqual([arq.srtt, arq.rttvar], [10, 5], "the sample is 50 − 40, not 50 − 0");
});

Deno.test("Arq §4.11: with congestion control the first flush moves no data, then one segment", () => {
  const arq = new Arq(1, KCP_DEFAULT_OPTIONS);
  arq.send(bytes(10), 0);
  arq.send(bytes(10), 0);
  assert.deepEqual(flushSegments(arq, 0), []);
  assert.equal(arq.cwnd, 1);
  assert.deepEqual(flushSegments(arq, 100).map((s) => s.sn), [0]);
  arq.handleInput(150, packetOf({ cmd: CMD_ACK, sn: 0, ts: 100, una: 1, wnd: 32 }));
  assert.equal(arq.cwnd, 2, "slow start: +1 per una advance");
  assert.deepEqual(flushSegments(arq, 150).map((s) => s.sn), [1]);
});

Deno.test("Arq §4.11: a timeout collapses cwnd to 1 and halves ssthresh", () => {
  const arq = new Arq(1, { ...KCP_DEFAULT_OPTIONS, interval: 10 });
  for (let i = 0; i < 4; i++) arq.send(bytes(1), 0);
  flushSegments(arq, 0);
  for (let t = 10, una = 0; una < 3; t += 10) {
    flushSegments(arq, t);
    arq.handleInput(t, packetOf({ cmd: CMD_ACK, sn: una, ts: t, una: ++una, wnd: 32 }));
  }
  assert.ok(arq.cwnd >= 3, `cwnd grew to ${arq.cwnd}`);
  assert.deepEqual(flushSegments(arq, 1000).map((s) => s.sn), [3], "sn 3 timed out");
  assert.equal(arq.cwnd, 1);
});

Deno.test("Arq §4.11: nc = 1 ignores cwnd: the window is min(sndWnd, rmtWnd)", () => {
  const arq = new Arq(1, { ...SF, sndWnd: 3 });
  for (let i = 0; i < 5; i++) arq.send(bytes(1376), 0);
  assert.deepEqual(flushSegments(arq, 0).map((s) => s.sn), [0, 1, 2], "sndWnd 3");
  arq.handleInput(1, packetOf({ cmd: CMD_WINS, wnd: 1, una: 0 }));
  assert.equal(arq.sendWindowOpen, false, "WaitSnd 5 ≥ rmtWnd 1: writes wait");
  arq.handleInput(2, packetOf({ cmd: CMD_ACK, sn: 0, ts: 0, una: 1, wnd: 1 }));
  assert.deepEqual(flushSegments(arq, 2).map((s) => s.sn), [], "1 + rmtWnd 1 = 2: sn 3 may not go yet");
  arq.handleInput(3, packetOf({ cmd: CMD_ACK, sn: 1, ts: 0, una: 3, wnd: 2 }));
  assert.deepEqual(flushSegments(arq, 3).map((s) => s.sn), [3, 4]);
});

Deno.test("Arq §1.3: packets ≤ mtu: a full-MSS PUSH is 1400 bytes, at most 58 ACKs per packet", () => {
  const arq = new Arq(1, SF);
  arq.send(bytes(1376 * 2 + 100), 0);
  assert.deepEqual(flushDecoded(arq, 0).sizes, [1400, 1400, 124]);
  const receiver = new Arq(1, SF);
  for (let sn = 1; sn <= 100; sn++) receiver.handleInput(1, packetOf(...pushes(sn))); // all out of order: 100 ACKs
  const { sizes, packets } = flushDecoded(receiver, 1);
  assert.deepEqual(sizes, [58 * 24, 42 * 24]);
  assert.deepEqual(packets.flat().map((s) => s.sn), Array.from({ length: 100 }, (_, i) => i + 1));
});

Deno.test("Arq §4.4: stream mode merges writes into full segments; a sent partial segment is not extended", () => {
  const arq = new Arq(1, SF);
  arq.send(bytes(100), 0);
  arq.send(bytes(2000), 0);
  assert.deepEqual(flushSegments(arq, 0).map((s) => s.data.length), [1376, 724]);
  arq.send(bytes(10), 0);
  assert.deepEqual(flushSegments(arq, 1).map((s) => s.data.length), [10]);
  const queued = arq.sendBytes;
  arq.send(new Uint8Array(), 0); // kcp-go Send −1: nothing queued
  assert.equal(arq.sendBytes, queued);
  assert.deepEqual(flushSegments(arq, 2), []);
});

Deno.test("Arq §4.4: message mode numbers fragments down to 0 and reassembles them", () => {
  const options = { ...SF, streamMode: false };
  const sender = new Arq(1, options);
  const message = Uint8Array.from({ length: 2 * 1376 + 1 }, (_, i) => i);
  sender.send(message, 0);
  const sent = flushDecoded(sender, 0).packets;
  assert.deepEqual(sent.flat().map((s) => s.frg), [2, 1, 0]);
  assert.throws(
    () => sender.send(new Uint8Array(256 * 1376), 0),
    (error: unknown) => error instanceof KcpError && error.code === "message-too-large",
    "more than 255 fragments (kcp-go Send −2)",
  );
  const receiver = new Arq(1, options);
  receiver.handleInput(1, packetOf(sent[2][0]));
  receiver.handleInput(1, packetOf(sent[0][0]));
  assert.equal(receiver.read(), null, "fragment 1 still missing");
  receiver.handleInput(1, packetOf(sent[1][0]));
  assert.deepEqual(receiver.read(), message);
});

Deno.test("Arq §4.9: a full receive queue advertises wnd 0; reading it sends an unsolicited WINS", () => {
  const arq = new Arq(1, { ...SF, rcvWnd: 4 });
  arq.handleInput(1, packetOf(...pushes(0, 1, 2, 3, 4)));
  const [ack] = flushSegments(arq, 1);
  assert.deepEqual([ack.sn, ack.una, ack.wnd], [4, 4, 0], "sn 4 waits in rcv_buf: the queue is full");
  arq.handleInput(1, packetOf(...pushes(8)));
  assert.deepEqual(flushSegments(arq, 1), [], "sn 8 is past rcv_nxt + rcv_wnd: ignored, not acked");
  assert.equal(arq.read()!.length, 5, "reading refills the queue from rcv_buf");
  assert.deepEqual(flushSegments(arq, 2).map((s) => [s.cmd, s.wnd]), [[CMD_WINS, 4]]);
});

Deno.test("Arq: the receive byte budget shrinks the window and refuses (without acking) what does not fit", () => {
  const arq = new Arq(1, SF, { maxRecvBytes: 3000 });
  assert.equal(arq.wndUnused, 2, "⌊3000 / 1376⌋ segments");
  const big = (sn: number) => ({ sn, data: bytes(1376) });
  arq.handleInput(1, packetOf(big(1)));
  arq.handleInput(1, packetOf(big(2)));
  arq.handleInput(1, packetOf(big(3))); // 3 × 1376 > 3000: refused
  assert.deepEqual(flushSegments(arq, 1).map((s) => s.sn), [1, 2]);
  arq.handleInput(2, packetOf(big(0))); // rcv_nxt while nothing is ready: always taken
  assert.equal(arq.rcvNxt, 3);
  assert.deepEqual(flushSegments(arq, 2).map((s) => [s.cmd, s.sn, s.wnd]), [[CMD_ACK, 0, 0]]);
  assert.equal(arq.read()!.length, 3 * 1376);
  assert.deepEqual(flushSegments(arq, 3).map((s) => [s.cmd, s.wnd]), [[CMD_WINS, 2]], "window reopened");
});

Deno.test("Arq §4.2: sequence numbers and timestamps wrap modulo 2³²", () => {
  const start = 2 ** 32 - 2;
  const sender = new Arq(1, SF, { initialSn: start });
  const receiver = new Arq(1, SF, { initialSn: start });
  for (let i = 0; i < 4; i++) sender.send(bytes(1376, i), 0);
  const now = 2 ** 32 - 1; // ts wraps between send and ack
  const sent = flushDecoded(sender, now).packets;
  assert.deepEqual(sent.flat().map((s) => s.sn), [2 ** 32 - 2, 2 ** 32 - 1, 0, 1]);
  for (const p of sent) receiver.handleInput(now + 5, packetOf(...p));
  assert.equal(receiver.rcvNxt, 2);
  assert.equal(receiver.read()!.length, 4 * 1376);
  const reply = flushDecoded(receiver, now + 5).packets;
  for (const p of reply) sender.handleInput(now + 30, packetOf(...p));
  assert.equal(sender.sndUna, 2);
  assert.equal(sender.waitSnd, 0);
  assert.equal(sender.srtt, 30, "RTT across the ts wrap");
});

Deno.test("Arq §4.9: a zero-length PUSH (which would stall Go's reader) is consumed as no data", () => {
  const arq = new Arq(1, SF);
  arq.handleInput(1, packetOf({ sn: 0 }, { sn: 1, data: new Uint8Array([5, 6]) }));
  assert.deepEqual(arq.read(), new Uint8Array([5, 6]));
  arq.handleInput(2, packetOf({ sn: 2 }));
  assert.equal(arq.read(), null);
  assert.equal(arq.rcvNxt, 3);
});

Deno.test("Arq: empty segments count against the receive budget too", () => {
  const arq = new Arq(1, SF, { maxRecvBytes: 10 * SEGMENT_CHARGE });
  arq.handleInput(1, packetOf(...Array.from({ length: 30 }, (_, i) => ({ sn: i + 1 })))); // all out of order
  assert.equal(flushSegments(arq, 1).length, 10, "ten acked, the rest refused");
  assert.equal(arq.receiveBytes, 10 * SEGMENT_CHARGE);
});
