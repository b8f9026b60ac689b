import assert from "node:assert/strict";
import { encodeData, encodePadding } from "../../lib/encapsulation/codec.ts";
import { EncapsulationError } from "../../lib/encapsulation/error.ts";
import { encapsulationPacketConn } from "../../lib/encapsulation/packet_conn.ts";
import type { ByteConn } from "../../lib/net/byte_conn.ts";
import { memoryByteConnPair } from "../support/memory.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";
import { fromHex } from "../../lib/util/bytes.ts";
import { runPacketConnCases } from "../net/packet_conn_cases.ts";

runPacketConnCases({
  name: "encapsulationPacketConn over memoryByteConnPair",
  makePair: () => {
    const [x, y] = memoryByteConnPair(4096);
    const a = encapsulationPacketConn(x, "b", { sendQueueSize: 32 });
    const b = encapsulationPacketConn(y, "a", { sendQueueSize: 32 });
    // 32 queued + what fits in the 4096-byte window (64-byte packets) + one write in progress.
    return { a, b, aAddr: "a", bAddr: "b", capacity: 32 + 4096 / 65 + 2, maxPacketSize: 0xfffff };
  },
});

/** A ByteConn that records each write and whose reads and writes the test controls. */
class ScriptedByteConn implements ByteConn {
  writes: Uint8Array[] = [];
  closed = false;
  #reads: (Uint8Array | null)[] = [];
  #waiting: ((chunk: Uint8Array | null) => void) | null = null;
  constructor(readonly writeResult: () => Promise<void> = () => Promise.resolve()) {}
  feed(chunk: Uint8Array | null): void {
    if (this.#waiting) this.#waiting(chunk);
    else this.#reads.push(chunk);
    this.#waiting = null;
  }
  read(): Promise<Uint8Array | null> {
    if (this.closed) return Promise.resolve(null);
    if (this.#reads.length > 0) return Promise.resolve(this.#reads.shift()!);
    return new Promise((resolve) => this.#waiting = resolve);
  }
  write(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new ConnClosedError());
    this.writes.push(data);
    return this.writeResult();
  }
  close(): void {
    this.closed = true;
    this.feed(null);
  }
}

Deno.test("encapsulationPacketConn: one write per packet, prefix and packet together, shortest prefix", async () => {
  const conn = new ScriptedByteConn();
  const packets = [new Uint8Array(0), new Uint8Array(24).fill(1), new Uint8Array(1400).fill(2)];
  const pc = encapsulationPacketConn(conn, "server");
  for (const packet of packets) pc.writeTo(packet, "ignored");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(conn.writes, packets.map(encodeData));
  pc.close();
  assert.ok(conn.closed);
});

Deno.test("encapsulationPacketConn: writePadding queues padding chunks between packets; the far end skips them", async () => {
  const conn = new ScriptedByteConn();
  const pc = encapsulationPacketConn(conn, "server");
  pc.writeTo(new Uint8Array([1]), "x");
  pc.writePadding(3000);
  pc.writePadding(0); // nothing
  pc.writeTo(new Uint8Array([2]), "x");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(conn.writes, [
    encodeData(new Uint8Array([1])),
    encodePadding(3000),
    encodeData(new Uint8Array([2])),
  ]);
  const [x, y] = memoryByteConnPair();
  const far = encapsulationPacketConn(y, "client");
  for (const chunk of conn.writes) await x.write(chunk);
  assert.deepEqual((await far.readFrom())?.packet, new Uint8Array([1]));
  assert.deepEqual((await far.readFrom())?.packet, new Uint8Array([2]), "the padding was skipped");
  pc.close();
  pc.writePadding(10); // ignored once closed
  assert.equal(conn.writes.length, 3);
  far.close();
  x.close();
});

Deno.test("encapsulationPacketConn: packets in any split, then null and no error at a clean end", async () => {
  const conn = new ScriptedByteConn();
  const pc = encapsulationPacketConn(conn, "server");
  const stream = fromHex("8158" + "03aabbcc" + "c00159" + "80"); // data X, padding, data Y (non-minimal), empty data
  for (const byte of stream) conn.feed(new Uint8Array([byte]));
  conn.feed(null);
  assert.deepEqual(await pc.readFrom(), { packet: new Uint8Array([0x58]), addr: "server" });
  assert.deepEqual(await pc.readFrom(), { packet: new Uint8Array([0x59]), addr: "server" });
  assert.deepEqual(await pc.readFrom(), { packet: new Uint8Array(0), addr: "server" });
  assert.equal(await pc.readFrom(), null);
  assert.equal(pc.error, null);
  assert.ok(conn.closed, "the end of the stream closes the conn");
  assert.throws(() => pc.writeTo(new Uint8Array(1), "x"), ConnClosedError);
});

Deno.test("encapsulationPacketConn: malformed input ends the conn with a typed error, reported once", async () => {
  const rows: [string, EncapsulationError["code"], number | undefined][] = [
    ["c0c08080", "too-long", undefined], // a 4-byte length prefix
    ["8258", "unexpected-eof", undefined], // the stream ends 1 byte into a 2-byte packet
    ["ffff7f58", "over-limit", 1500], // a 1048575-byte packet announced to a 1500-byte carrier
  ];
  for (const [hex, code, maxPacketSize] of rows) {
    const conn = new ScriptedByteConn();
    const reported: Error[] = [];
    const pc = encapsulationPacketConn(conn, "server", { maxPacketSize, onError: (e) => reported.push(e) });
    const first = pc.readFrom();
    const second = pc.readFrom(); // queued behind the first
    conn.feed(fromHex(hex));
    if (code === "unexpected-eof") conn.feed(null);
    assert.equal(await first, null, hex);
    assert.equal(await second, null, hex);
    assert.ok(pc.error instanceof EncapsulationError && pc.error.code === code, hex);
    assert.deepEqual(reported, [pc.error]);
    assert.ok(conn.closed, "the conn is closed");
    assert.throws(() => pc.writeTo(new Uint8Array(1), "x"), ConnClosedError);
  }
});

Deno.test("encapsulationPacketConn: a full send queue drops and counts; oversized packets throw", async () => {
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => release = resolve);
  const conn = new ScriptedByteConn(() => blocked);
  const pc = encapsulationPacketConn(conn, "server", { sendQueueSize: 4 });
  for (let i = 0; i < 10; i++) pc.writeTo(new Uint8Array([i]), "server");
  await Promise.resolve();
  // Packet 0 is being written, 1–4 wait in the queue, 5–9 were dropped.
  assert.equal(pc.dropped, 5);
  assert.throws(
    () => pc.writeTo(new Uint8Array(0x100000), "server"),
    (e) => e instanceof EncapsulationError && e.code === "too-long",
  );
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(conn.writes, [0, 1, 2, 3, 4].map((i) => encodeData(new Uint8Array([i]))));
  pc.close();
});

Deno.test("encapsulationPacketConn: a failing write ends the conn and is reported", async () => {
  const failure = new Error("data channel closed by peer");
  const conn = new ScriptedByteConn(() => Promise.reject(failure));
  const reported: Error[] = [];
  const pc = encapsulationPacketConn(conn, "server", { onError: (e) => reported.push(e) });
  const reading = pc.readFrom();
  pc.writeTo(new Uint8Array([1]), "server");
  assert.equal(await reading, null);
  assert.equal(pc.error, failure);
  assert.deepEqual(reported, [failure]);
});

Deno.test("encapsulationPacketConn: coalesceBytes joins queued packets into writes of at most that size, never splitting one", async () => {
  let release!: () => void;
  let first = true;
  const conn = new ScriptedByteConn(() => {
    if (!first) return Promise.resolve();
    first = false;
    return new Promise<void>((resolve) => release = resolve); // hold the first write while a burst queues
  });
  const pc = encapsulationPacketConn(conn, "peer", { coalesceBytes: 1000 });
  const packets = Array.from({ length: 10 }, (_, i) => new Uint8Array(300).fill(i));
  for (const packet of packets) pc.writeTo(packet, "peer");
  await new Promise((resolve) => setTimeout(resolve, 0));
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  const sizes = conn.writes.map((w) => w.length);
  // The burst is queued before the writer runs: 302-byte chunks, three to a write (≤ 1000), the last one alone.
  assert.deepEqual(sizes, [906, 906, 906, 302]);
  const expected = packets.map((p) => [...encodeData(p)]).flat();
  assert.deepEqual(conn.writes.map((w) => [...w]).flat(), expected);
  pc.close();
});
