/**
 * The KCP segment codec (kcp-go v5.6.1, no crypto, no FEC). A packet is one or
 * more segments back to back with nothing before them (KCP-SMUX.md §1.1–1.2).
 * Segment layout, all little-endian (§3.1):
 *
 * ```
 * offset 0: conv u32   conversation id
 *        4: cmd  u8    PUSH 81, ACK 82, WASK 83, WINS 84
 *        5: frg  u8    fragments left (message mode); 0 in stream mode
 *        6: wnd  u16   sender's free receive window, in segments
 *        8: ts   u32   PUSH: send time; ACK: echo of the PUSH's ts
 *       12: sn   u32   sequence number
 *       16: una  u32   every sn below this was received
 *       20: len  u32   payload length
 *       24: data       len bytes
 * ```
 *
 * The ARQ machine parses and writes headers inline on its hot path with the
 * same byte helpers; this codec is the reference form for tests and tools.
 */

import { KcpError } from "./error.ts";
import { readU32, writeU32 } from "./u32.ts";

export const SEGMENT_HEADER_SIZE = 24; // IKCP_OVERHEAD
export const CMD_PUSH = 81; // data
export const CMD_ACK = 82; // acknowledges one sn
export const CMD_WASK = 83; // window probe: "tell me your window"
export const CMD_WINS = 84; // window tell
/** Offset of `sn` in a segment; kcp-go's Listener peeks it (IKCP_SN_OFFSET). */
export const SN_OFFSET = 12;

export interface Segment {
  conv: number;
  cmd: number;
  frg: number;
  wnd: number;
  ts: number;
  sn: number;
  una: number;
  /** The payload; its length is the header's `len`. */
  data: Uint8Array;
}

export function isKnownCommand(cmd: number): boolean {
  return cmd >= CMD_PUSH && cmd <= CMD_WINS;
}

/** Writes a 24-byte header at `offset` (conv, cmd, frg, wnd, ts, sn, una, len). */
export function writeHeader(
  buf: Uint8Array,
  offset: number,
  conv: number,
  cmd: number,
  frg: number,
  wnd: number,
  ts: number,
  sn: number,
  una: number,
  len: number,
): void {
  writeU32(buf, offset, conv);
  buf[offset + 4] = cmd;
  buf[offset + 5] = frg;
  buf[offset + 6] = wnd;
  buf[offset + 7] = wnd >>> 8;
  writeU32(buf, offset + 8, ts);
  writeU32(buf, offset + 12, sn);
  writeU32(buf, offset + 16, una);
  writeU32(buf, offset + 20, len);
}

/** Bytes {@link encodeSegment} writes for `segment`. */
export function encodedLength(segment: Segment): number {
  return SEGMENT_HEADER_SIZE + segment.data.length;
}

/** Writes `segment` at `offset` of `out`; returns the offset after it. Throws RangeError if `out` is too short. */
export function encodeSegment(segment: Segment, out: Uint8Array, offset = 0): number {
  const end = offset + encodedLength(segment);
  if (end > out.length) {
    throw new RangeError(`segment needs ${end - offset} bytes at ${offset}, buffer has ${out.length}`);
  }
  const { conv, cmd, frg, wnd, ts, sn, una, data } = segment;
  writeHeader(out, offset, conv, cmd, frg, wnd, ts, sn, una, data.length);
  out.set(data, offset + SEGMENT_HEADER_SIZE);
  return end;
}

/**
 * Decodes the segment at `offset`; returns it and the offset after it. `data` is a
 * view into `buf`. Throws {@link KcpError} ("short-packet", "bad-length",
 * "bad-command") where kcp-go's `Input` stops parsing (§1.5).
 */
export function decodeSegment(buf: Uint8Array, offset = 0): [Segment, number] {
  if (buf.length - offset < SEGMENT_HEADER_SIZE) {
    throw new KcpError(
      "short-packet",
      `${buf.length - offset} bytes left, a header needs ${SEGMENT_HEADER_SIZE}`,
    );
  }
  const len = readU32(buf, offset + 20);
  const start = offset + SEGMENT_HEADER_SIZE;
  if (len > buf.length - start) {
    throw new KcpError("bad-length", `segment declares ${len} data bytes, ${buf.length - start} present`);
  }
  const cmd = buf[offset + 4];
  if (!isKnownCommand(cmd)) throw new KcpError("bad-command", `unknown command ${cmd}`);
  const segment: Segment = {
    conv: readU32(buf, offset),
    cmd,
    frg: buf[offset + 5],
    wnd: buf[offset + 6] | buf[offset + 7] << 8,
    ts: readU32(buf, offset + 8),
    sn: readU32(buf, offset + 12),
    una: readU32(buf, offset + 16),
    data: buf.subarray(start, start + len),
  };
  return [segment, start + len];
}

/**
 * Decodes every segment of a packet; throws like {@link decodeSegment}, and
 * "short-packet" for a packet under 24 bytes. Trailing bytes under 24 after a
 * segment are ignored, as in kcp-go.
 */
export function decodePacket(packet: Uint8Array): Segment[] {
  if (packet.length < SEGMENT_HEADER_SIZE) {
    throw new KcpError("short-packet", `packet of ${packet.length} bytes is shorter than a header`);
  }
  const segments: Segment[] = [];
  let offset = 0;
  while (packet.length - offset >= SEGMENT_HEADER_SIZE) {
    const [segment, next] = decodeSegment(packet, offset);
    segments.push(segment);
    offset = next;
  }
  return segments;
}
