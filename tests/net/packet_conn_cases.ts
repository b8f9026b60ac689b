/**
 * The PacketConn conformance suite (STYLE.md "One conformance suite per
 * interface"): the same cases run against every implementation — the in-memory
 * pair, QueuePacketConn, RedialPacketConn, encapsulationPacketConn, and the
 * WebSocket and WebRTC adapters.
 *
 * Usage, in a `*_test.ts` file:
 *   runPacketConnCases({ name: "memoryPacketPair", makePair: () => { ...; return { a, b, aAddr, bAddr, capacity } } });
 *
 * `a` is the implementation under test; `b` is its peer (another instance or a
 * test driver). Requirements on the pair: packets `a` writes to `bAddr` come out
 * of `b.readFrom()` with address `aAddr`, and the reverse; every queue on the
 * way holds at least 16 packets; `capacity` is an upper bound on the packets
 * that can be buffered between `a.writeTo` and `b.readFrom`.
 */

import assert from "node:assert/strict";
import { ConnClosedError, type PacketConn } from "../../lib/net/packet_conn.ts";

export interface PacketConnPair {
  /** The implementation under test. */
  a: PacketConn;
  /** Its peer: another instance, or a driver standing in for the other end. */
  b: PacketConn;
  /** How `b` sees `a`: the address of a's packets at b, and where b writes to reach a. */
  aAddr: string;
  /** How `a` sees `b`. */
  bAddr: string;
  /** Upper bound on packets buffered between `a.writeTo` and `b.readFrom`. */
  capacity: number;
  /** Largest packet the pair must carry; default 65536. */
  maxPacketSize?: number;
  /** Frees whatever else the pair made; called after `a` and `b` are closed. */
  close?(): void | Promise<void>;
}

export interface PacketConnCasesOptions {
  name: string;
  makePair(): PacketConnPair | Promise<PacketConnPair>;
}

/** Packets written before reading them back, in the ordering case: below every queue's bound. */
const WINDOW = 16;
/** Packets per direction in the ordering case. */
const ORDERED_PACKETS = 512;
/** Marker writes allowed while draining the flood case (each one yields to the event loop). */
const MAX_MARKERS = 10_000;

/** Packet `seq` of the ordering case: its sequence number, then a pattern, of varying length. */
function orderedPacket(seq: number): Uint8Array {
  const packet = new Uint8Array(4 + (seq * 37) % 1397);
  new DataView(packet.buffer).setUint32(0, seq);
  for (let i = 4; i < packet.length; i++) packet[i] = (seq + i) & 0xff;
  return packet;
}

/** A packet of `size` bytes with a pattern that shows any reordering or truncation. */
function patternPacket(size: number, salt: number): Uint8Array {
  const packet = new Uint8Array(size);
  for (let i = 0; i < size; i++) packet[i] = (i * 7 + salt + (i >> 8)) & 0xff;
  return packet;
}

export function runPacketConnCases({ name, makePair }: PacketConnCasesOptions): void {
  const test = (title: string, body: (pair: PacketConnPair) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      const pair = await makePair();
      try {
        await body(pair);
      } finally {
        pair.a.close();
        pair.b.close();
        await pair.close?.();
      }
    });

  test("delivers packets in order with the right addresses, both ways", async ({ a, b, aAddr, bAddr }) => {
    for (const [from, to, toAddr, fromAddr] of [[a, b, bAddr, aAddr], [b, a, aAddr, bAddr]] as const) {
      for (let start = 0; start < ORDERED_PACKETS; start += WINDOW) {
        for (let seq = start; seq < start + WINDOW; seq++) from.writeTo(orderedPacket(seq), toAddr);
        for (let seq = start; seq < start + WINDOW; seq++) {
          const received = await to.readFrom();
          assert.ok(received, `packet ${seq} arrived`);
          assert.equal(received.addr, fromAddr);
          assert.deepEqual(received.packet, orderedPacket(seq));
        }
      }
    }
  });

  test("carries large packets intact", async ({ a, b, aAddr, bAddr, maxPacketSize = 65536 }) => {
    const sizes = [...new Set([1, 1400, 1500, 8192, 65536, maxPacketSize].filter((n) => n <= maxPacketSize))];
    for (const size of sizes) {
      a.writeTo(patternPacket(size, 1), bAddr);
      assert.deepEqual((await b.readFrom())?.packet, patternPacket(size, 1), `${size} bytes a→b`);
      b.writeTo(patternPacket(size, 2), aAddr);
      assert.deepEqual((await a.readFrom())?.packet, patternPacket(size, 2), `${size} bytes b→a`);
    }
  });

  test("close ends readFrom, pending and later, and is idempotent", async ({ a }) => {
    const pending = a.readFrom();
    a.close();
    assert.equal(await pending, null);
    assert.equal(await a.readFrom(), null);
    a.close();
  });

  test("writeTo after close throws ConnClosedError", ({ a, bAddr }) => {
    a.close();
    assert.throws(() => a.writeTo(new Uint8Array([1, 2, 3]), bAddr), ConnClosedError);
    return Promise.resolve();
  });

  test("drops rather than blocks or buffers past its bound", async ({ a, b, bAddr, capacity }) => {
    const flood = 2 * capacity + 64;
    for (let seq = 0; seq < flood; seq++) {
      const packet = new Uint8Array(64);
      new DataView(packet.buffer).setUint32(4, seq);
      a.writeTo(packet, bAddr); // never throws nor waits: a full queue drops
    }
    // Drain: keep offering a marker (first byte 0xff) until one comes through, so
    // we know everything before it has arrived. Markers hit by a full queue drop too.
    let markers = 0;
    let writing = true;
    const markerWriter = (async () => {
      while (writing) {
        if (markers++ >= MAX_MARKERS) {
          b.close(); // ends the reader below, which then fails
          throw new Error(`no marker came through after ${MAX_MARKERS} tries: the flood never drained`);
        }
        a.writeTo(new Uint8Array([0xff]), bAddr);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })();
    const received: number[] = [];
    try {
      for (;;) {
        const got = await b.readFrom();
        assert.ok(got, "b stays open");
        if (got.packet[0] === 0xff) break;
        received.push(new DataView(got.packet.buffer, got.packet.byteOffset).getUint32(4));
      }
    } finally {
      writing = false;
      await markerWriter;
    }
    assert.ok(received.length >= 1, "some packets got through");
    assert.ok(received.length <= capacity, `at most the bound got through (${received.length} of ${flood})`);
    for (let i = 1; i < received.length; i++) {
      assert.ok(received[i] > received[i - 1], "in order, no duplicates");
    }
  });
}
