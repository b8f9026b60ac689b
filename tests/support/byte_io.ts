/** Reading and writing whole byte streams over a ByteConn, for tests. */

import assert from "node:assert/strict";
import type { ByteConn } from "../../lib/net/byte_conn.ts";
import { concat } from "../../lib/util/bytes.ts";
import { Prng } from "./random.ts";

/** Reads from `conn` until `length` bytes have come, or the end of stream (then fewer). */
export async function readBytes(conn: ByteConn, length: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < length) {
    const chunk = await conn.read();
    if (chunk === null) break;
    parts.push(chunk);
    total += chunk.length;
  }
  return concat(parts);
}

/** Reads until the end of stream; fails if more than `maxReads` chunks come first. */
export async function readToEnd(conn: ByteConn, maxReads = Infinity): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < maxReads; i++) {
    const chunk = await conn.read();
    if (chunk === null) return concat(parts);
    parts.push(chunk);
  }
  assert.fail(`no end of stream after ${maxReads} reads`);
}

/**
 * Writes `data` in seeded random pieces, awaiting each (back-pressure): 30 %
 * of them up to `small` bytes, the rest up to `large`. Each piece is a copy.
 */
export async function writeInPieces(
  conn: ByteConn,
  data: Uint8Array,
  seed: number,
  { small = 1500, large = 65_536 }: { small?: number; large?: number } = {},
): Promise<void> {
  const random = new Prng(seed);
  for (let offset = 0; offset < data.length;) {
    const size = 1 + random.below(random.next() < 0.3 ? small : large);
    await conn.write(data.slice(offset, offset + size));
    offset += size;
  }
}
