/**
 * u32 helpers of the KCP layer: little-endian load/store (every KCP header
 * field is LE, KCP-SMUX.md §3.1) and kcp-go's wrap-around comparison (§4.2).
 */

/** The u32 at `offset`, little-endian. */
export function readU32(buf: Uint8Array, offset: number): number {
  return (buf[offset] | buf[offset + 1] << 8 | buf[offset + 2] << 16 | buf[offset + 3] << 24) >>> 0;
}

/** Writes `value` as a little-endian u32 at `offset`. */
export function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value;
  buf[offset + 1] = value >>> 8;
  buf[offset + 2] = value >>> 16;
  buf[offset + 3] = value >>> 24;
}

/** (a − b) mod 2³² read as a signed 32-bit integer (kcp-go `_itimediff`): "a < b" is timediff(a, b) < 0. */
export function timediff(a: number, b: number): number {
  return (a - b) | 0;
}
