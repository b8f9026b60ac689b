/**
 * Encoding side of Snowflake's encapsulation: packets and padding as
 * length-prefixed chunks in a byte stream (SNOWFLAKE-PROTOCOL.md §2.1–2.3, 2.5).
 *
 * First prefix byte `d c x x x x x x`: d (0x80) = data (1) or padding (0),
 * c (0x40) = another prefix byte follows, x = the top 6 bits of the length.
 * Each further byte is `c y y y y y y y` with 7 more bits. At most 3 bytes, so a
 * chunk carries at most 0xfffff = 1048575 bytes. Writers use the shortest prefix;
 * readers ({@link EncapsulationDecoder}) also accept longer ones.
 */

import { EncapsulationError } from "./error.ts";

/** The longest chunk body a 3-byte prefix can describe: 0xfffff (§2.1). */
export const MAX_CHUNK_LENGTH = 0xfffff;

/** Largest padding piece `encodePadding` emits, prefix included (Go's WritePadding). */
const PADDING_PIECE_SIZE = 1024;

/** Bytes of the shortest prefix for a chunk of `length` bytes: 1, 2 or 3. */
export function prefixLength(length: number): number {
  if (length <= 0x3f) return 1;
  if (length <= 0x1fff) return 2;
  return 3;
}

/** Writes the shortest data prefix for `length` (≤ MAX_CHUNK_LENGTH) at `out[offset]`; returns the next offset. */
function writeDataPrefix(length: number, out: Uint8Array, offset: number): number {
  switch (prefixLength(length)) {
    case 1:
      out[offset] = 0x80 | length;
      return offset + 1;
    case 2:
      out[offset] = 0x80 | 0x40 | (length >> 7);
      out[offset + 1] = length & 0x7f;
      return offset + 2;
    default:
      out[offset] = 0x80 | 0x40 | (length >> 14);
      out[offset + 1] = 0x80 | ((length >> 7) & 0x7f);
      out[offset + 2] = length & 0x7f;
      return offset + 3;
  }
}

/**
 * One data chunk: the shortest prefix then a copy of `packet` (Go's WriteData).
 * Throws EncapsulationError "too-long" for packets over 1048575 bytes.
 * @example encodeData(new Uint8Array(100)) // c0 64, then 100 bytes
 */
export function encodeData(packet: Uint8Array): Uint8Array {
  if (packet.length > MAX_CHUNK_LENGTH) {
    throw new EncapsulationError(
      "too-long",
      `length prefix is too long: a ${packet.length}-byte packet exceeds ${MAX_CHUNK_LENGTH}`,
    );
  }
  const out = new Uint8Array(encodedDataLength(packet.length));
  encodeDataAt(packet, out, 0);
  return out;
}

/** Bytes of the data chunk for a `length`-byte packet, prefix included. */
export function encodedDataLength(length: number): number {
  return prefixLength(length) + length;
}

/** Writes the data chunk for `packet` (≤ MAX_CHUNK_LENGTH bytes) at `out[offset]`; returns the next offset. */
export function encodeDataAt(packet: Uint8Array, out: Uint8Array, offset: number): number {
  const start = writeDataPrefix(packet.length, out, offset);
  out.set(packet, start);
  return start + packet.length;
}

/**
 * Padding chunks (zero bytes) whose total size, prefixes included, is exactly `n`
 * (Go's WritePadding: pieces of at most 1024 bytes; a remainder of 1 is `00`).
 */
export function encodePadding(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`padding size must be a non-negative integer, got ${n}`);
  }
  const out = new Uint8Array(n); // zero-filled: the padding bytes
  let offset = 0;
  while (offset < n) {
    const piece = Math.min(PADDING_PIECE_SIZE, n - offset);
    // The prefix size follows from the piece size, not the body's: a 65-byte piece is `40 3f` + 63 bytes,
    // a non-minimal prefix. Pieces of ≤ 1024 bytes never need a 3-byte one.
    if (piece - 1 <= 0x3f) {
      out[offset] = piece - 1;
    } else {
      out[offset] = 0x40 | ((piece - 2) >> 7);
      out[offset + 1] = (piece - 2) & 0x7f;
    }
    offset += piece;
  }
  return out;
}

/**
 * The largest data length whose encoding fits in `n` bytes, as Go's
 * MaxDataForSize computes it: `n` minus the prefix length `n` itself would need
 * (so 0x40 → 0x3e), and 1048572 when `n` is beyond one chunk. Throws for n < 1.
 */
export function maxDataForSize(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`size must be a positive integer, got ${n}`);
  if (n > MAX_CHUNK_LENGTH) return MAX_CHUNK_LENGTH - 3;
  return n - prefixLength(n);
}
