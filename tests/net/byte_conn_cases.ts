/**
 * The ByteConn conformance suite (STYLE.md "One conformance suite per
 * interface"), the twin of packet_conn_cases.ts: the same cases run against
 * every ByteConn — the in-memory pair, the WebSocket conn, the smux stream,
 * the KCP session and the tor connection (lib/pt/or_conn.ts).
 *
 * Usage, in a `*_test.ts` file:
 *   runByteConnCases({ name: "memoryByteConnPair", makePair: () => { ...; return { a, b } } });
 *
 * `a` is the implementation under test, `b` its peer: bytes `a` writes come
 * out of `b.read()` in order, and the reverse.
 */

import assert from "node:assert/strict";
import type { ByteConn } from "../../lib/net/byte_conn.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";
import { readBytes, readToEnd, writeInPieces } from "../support/byte_io.ts";
import { sha256Hex } from "../support/digest.ts";
import { Prng } from "../support/random.ts";

export interface ByteConnPair {
  /** The implementation under test. */
  a: ByteConn;
  /** Its peer. */
  b: ByteConn;
  /** Frees whatever else the pair made; called after `a` and `b` are closed. */
  close?(): void | Promise<void>;
}

export interface ByteConnCasesOptions {
  name: string;
  makePair(): ByteConnPair | Promise<ByteConnPair>;
  /**
   * Whether `a.close()` ends the stream at `b` (its read returns null);
   * default true. False for KCP, which has no FIN: a closed session goes quiet.
   */
  closeReachesPeer?: boolean;
}

/** Bytes each way in the bulk case. */
const BULK_BYTES = 1_000_000;
/** One write this large must arrive whole (split as the conn likes). */
const LARGE_WRITE_BYTES = 256 * 1024;
/** Reads allowed before a read after close must have returned null. */
const MAX_READS_AFTER_CLOSE = 1000;

export function runByteConnCases({ name, makePair, closeReachesPeer = true }: ByteConnCasesOptions): void {
  const test = (title: string, body: (pair: ByteConnPair) => Promise<void>) =>
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

  test("moves exact byte streams both ways at once (sha256)", async ({ a, b }) => {
    const random = new Prng(7);
    const up = random.bytes(BULK_BYTES);
    const down = random.bytes(BULK_BYTES);
    const [gotUp, gotDown] = await Promise.all([
      readBytes(b, up.length),
      readBytes(a, down.length),
      writeInPieces(a, up, 1),
      writeInPieces(b, down, 2),
    ]);
    assert.equal(gotUp.length, up.length);
    assert.equal(gotDown.length, down.length);
    assert.equal(await sha256Hex(gotUp), await sha256Hex(up));
    assert.equal(await sha256Hex(gotDown), await sha256Hex(down));
  });

  test("one large write arrives whole and in order", async ({ a, b }) => {
    const data = new Prng(3).bytes(LARGE_WRITE_BYTES);
    const [got] = await Promise.all([readBytes(b, data.length), a.write(data.slice())]);
    assert.deepEqual(got, data);
  });

  test("an empty write sends nothing and does not disturb the stream", async ({ a, b }) => {
    await a.write(new Uint8Array(0));
    await a.write(new Uint8Array([1, 2, 3]));
    await a.write(new Uint8Array(0));
    await a.write(new Uint8Array([4]));
    assert.deepEqual(await readBytes(b, 4), new Uint8Array([1, 2, 3, 4]));
  });

  test("after close: write rejects with ConnClosedError, read ends, close again is harmless", async ({ a }) => {
    a.close();
    await assert.rejects(a.write(new Uint8Array([1])), ConnClosedError);
    await readToEnd(a, MAX_READS_AFTER_CLOSE);
    a.close();
    assert.equal(await a.read(), null);
  });

  if (!closeReachesPeer) return;
  test("close ends the peer's stream after the data written before it", async ({ a, b }) => {
    await a.write(new TextEncoder().encode("last words"));
    a.close();
    assert.equal(new TextDecoder().decode(await readToEnd(b, MAX_READS_AFTER_CLOSE)), "last words");
  });
}
