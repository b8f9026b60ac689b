/**
 * Seeded fuzzing: random and mutated packets into the codec, the Arq and the
 * listener. Only KcpError may come out of the decoder; the Arq and the listener
 * never throw; memory stays within the configured bounds; every call returns.
 */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { KcpError } from "../../lib/kcp/error.ts";
import { KcpListener } from "../../lib/kcp/listener.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { receiveMemoryBound } from "../../lib/kcp/receive_buffer.ts";
import { decodePacket, decodeSegment, encodeSegment } from "../../lib/kcp/segment.ts";
import { Prng } from "../util/netem.ts";
import { flushTo, packetOf, RecordingPacketConn } from "./helpers.ts";

/** A random packet: pure noise, or well-formed segments with random fields and some bytes flipped. */
function randomPacket(random: Prng, conv: number): Uint8Array {
  if (random.next() < 0.3) return random.bytes(random.below(120));
  const segments = Array.from({ length: 1 + random.below(4) }, () => ({
    conv: random.next() < 0.9 ? conv : random.below(2 ** 32),
    cmd: 81 + random.below(random.next() < 0.9 ? 4 : 200),
    frg: random.below(256),
    wnd: random.below(65536),
    ts: random.below(2 ** 32),
    sn: random.next() < 0.5 ? random.below(300) : random.below(2 ** 32),
    una: random.next() < 0.5 ? random.below(300) : random.below(2 ** 32),
    data: random.bytes(random.next() < 0.5 ? 0 : random.below(1400)),
  }));
  const packet = packetOf(...segments);
  for (let flips = random.below(3); flips > 0; flips--) {
    packet[random.below(packet.length)] ^= 1 << random.below(8);
  }
  return random.next() < 0.1 ? packet.subarray(0, random.below(packet.length)) : packet;
}

Deno.test("fuzz: decodeSegment throws only KcpError; what decodes re-encodes to the same bytes", () => {
  const random = new Prng(1);
  let decoded = 0;
  for (let i = 0; i < 20_000; i++) {
    const packet = randomPacket(random, 7);
    try {
      const [segment, next] = decodeSegment(packet);
      const out = new Uint8Array(next);
      encodeSegment(segment, out);
      assert.deepEqual(out, packet.subarray(0, next));
      decodePacket(packet);
      decoded++;
    } catch (error) {
      if (!(error instanceof KcpError)) throw error;
    }
  }
  assert.ok(decoded > 1000, `${decoded} packets decoded: the generator makes valid ones too`);
});

Deno.test("fuzz: Arq.handleInput never throws, returns null or a KcpError, and stays within its bounds", () => {
  const maxRecvBytes = 64 * 1024;
  for (const seed of [1, 2, 3]) {
    const random = new Prng(seed);
    const arq = new Arq(7, SNOWFLAKE_KCP_OPTIONS, { maxRecvBytes });
    let now = 0;
    for (let i = 0; i < 5_000; i++) {
      now += random.below(50);
      if (random.next() < 0.2) arq.send(random.bytes(random.below(3000)), now);
      const error = arq.handleInput(now, randomPacket(random, 7));
      assert.ok(
        error === null || ["short-packet", "conv-mismatch", "bad-length", "bad-command"].includes(error.code),
        `error ${error}`,
      );
      if (arq.flushNeeded || random.next() < 0.3) flushTo(arq, now, () => {});
      if (random.next() < 0.2) arq.read();
      assert.ok(
        arq.receiveBytes <= receiveMemoryBound(maxRecvBytes, arq.mss),
        `holding ${arq.receiveBytes} bytes`,
      );
      assert.ok(arq.sendBytes >= 0 && arq.waitSnd >= 0);
    }
  }
});

Deno.test("fuzz: KcpListener.packetInput never throws and keeps within its session cap", () => {
  const conn = new RecordingPacketConn();
  const listener = new KcpListener(conn, { maxSessions: 50, idleTimeoutMs: 0, maxRecvBytes: 32 * 1024 });
  const random = new Prng(9);
  for (let i = 0; i < 20_000; i++) {
    listener.packetInput(randomPacket(random, random.below(4)), `client-${random.below(100)}`);
    assert.ok(listener.sessionCount <= 50);
  }
  const dropped = listener.stats.dropped;
  for (const code of ["short-packet", "new-conv-rejected", "too-many-sessions"] as const) {
    assert.ok((dropped[code] ?? 0) > 0, `${code}: ${JSON.stringify(dropped)}`);
  }
  listener.close();
  assert.equal(listener.sessionCount, 0);
});
