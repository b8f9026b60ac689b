/**
 * The smux frame codec (protocol versions 1 and 2). Wire format, KCP-SMUX.md §7:
 *
 * ```
 * offset 0: ver    u8      1 or 2
 *        1: cmd    u8      SYN 0, FIN 1, PSH 2, NOP 3, UPD 4
 *        2: length u16 LE  payload length (before sid!)
 *        4: sid    u32 LE  stream id
 *        8: payload        PSH: `length` bytes; UPD: 8 bytes (consumed u32 LE, window u32 LE)
 * ```
 *
 * Trap (§8.4): Go reads a payload only for PSH (`length` bytes) and UPD (exactly
 * 8 bytes, whatever `length` says). SYN, FIN and NOP payloads are never consumed,
 * so the bytes after their header are the next header. The decoder does the same.
 */

import { SmuxError } from "./error.ts";

export const FRAME_HEADER_SIZE = 8;
/** Largest PSH payload the 16-bit length can carry. */
export const MAX_FRAME_PAYLOAD = 65535;
/** Size of an UPD payload (consumed, window). */
export const UPD_PAYLOAD_SIZE = 8;

const EMPTY: Uint8Array = new Uint8Array(0);

/** Frame commands (§7.2). */
export const SmuxCmd = {
  SYN: 0, // open stream sid
  FIN: 1, // sender closed stream sid
  PSH: 2, // stream data
  NOP: 3, // keepalive, sid 0
  UPD: 4, // v2 window update
} as const;

export interface Frame {
  version: number;
  cmd: number;
  sid: number;
  /** The header's length field. Equals payload.length except on malformed SYN/FIN/NOP/UPD from the wire. */
  length: number;
  /** PSH data, or the 8-byte UPD payload; empty for SYN, FIN and NOP. */
  payload: Uint8Array;
}

/** A frame with `length` = payload length, ready for {@link encodeFrame}. */
export function makeFrame(version: number, cmd: number, sid: number, payload = EMPTY): Frame {
  return { version, cmd, sid, length: payload.length, payload };
}

/** The 8-byte UPD payload. */
export function encodeUpdPayload(consumed: number, window: number): Uint8Array {
  const out = new Uint8Array(UPD_PAYLOAD_SIZE);
  writeU32(out, 0, consumed);
  writeU32(out, 4, window);
  return out;
}

/** `{ consumed, window }` of an UPD payload (at least 8 bytes). */
export function decodeUpdPayload(payload: Uint8Array): { consumed: number; window: number } {
  return { consumed: readU32(payload, 0), window: readU32(payload, 4) };
}

/** Bytes {@link encodeFrame} writes for `frame`. */
export function encodedFrameLength(frame: Frame): number {
  return FRAME_HEADER_SIZE + frame.payload.length;
}

/** Writes `frame` (header with length = payload length, then payload) at `offset`; returns the offset after it. */
export function encodeFrame(frame: Frame, out: Uint8Array, offset = 0): number {
  if (frame.payload.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`smux frame payload of ${frame.payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  }
  writeFrameHeader(out, offset, frame.version, frame.cmd, frame.payload.length, frame.sid);
  out.set(frame.payload, offset + FRAME_HEADER_SIZE);
  return offset + FRAME_HEADER_SIZE + frame.payload.length;
}

/** Writes an 8-byte header at `offset` (no DataView: this runs once per frame on the hot path). */
export function writeFrameHeader(
  out: Uint8Array,
  offset: number,
  version: number,
  cmd: number,
  length: number,
  sid: number,
): void {
  out[offset] = version;
  out[offset + 1] = cmd;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = length >>> 8;
  writeU32(out, offset + 4, sid);
}

/** Payload bytes that follow a header with this cmd and length field on the wire (Go's reading rule, §8.4). */
export function wirePayloadLength(cmd: number, length: number): number {
  return cmd === SmuxCmd.PSH ? length : cmd === SmuxCmd.UPD ? UPD_PAYLOAD_SIZE : 0;
}

/**
 * Decodes one frame at `offset`: `[frame, next]`, or null when `buf` ends before
 * the frame does. Throws SmuxError("unknown-command") for a cmd above 4. The
 * payload is a view into `buf`. Version checks are the session's job.
 */
export function decodeFrame(buf: Uint8Array, offset = 0): [Frame, number] | null {
  if (buf.length - offset < FRAME_HEADER_SIZE) return null;
  const frame = decodeFrameHeader(buf, offset);
  const start = offset + FRAME_HEADER_SIZE;
  const end = start + wirePayloadLength(frame.cmd, frame.length);
  if (end > buf.length) return null;
  frame.payload = buf.subarray(start, end);
  return [frame, end];
}

/**
 * The 8-byte header at `offset` as a Frame with an empty payload. Throws
 * SmuxError("unknown-command") for a cmd above 4: its length rule is unknown.
 */
export function decodeFrameHeader(buf: Uint8Array, offset: number): Frame {
  const cmd = buf[offset + 1];
  if (cmd > SmuxCmd.UPD) throw new SmuxError("unknown-command", `unknown frame command ${cmd}`);
  return {
    version: buf[offset],
    cmd,
    sid: readU32(buf, offset + 4),
    length: buf[offset + 2] | buf[offset + 3] << 8,
    payload: EMPTY,
  };
}

function readU32(buf: Uint8Array, offset: number): number {
  return (buf[offset] | buf[offset + 1] << 8 | buf[offset + 2] << 16 | buf[offset + 3] << 24) >>> 0;
}

function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = value >>> 24;
}
