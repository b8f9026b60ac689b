/**
 * WebSocket frames (RFC 6455 §5.2) as a sans-I/O codec: headers decoded from
 * and encoded into byte arrays, masking (§5.3), and close payloads (§5.5.1,
 * §7.4). No state: {@link WebSocketProtocol} keeps what spans frames.
 *
 * ```
 *  byte 0: FIN RSV1 RSV2 RSV3 opcode(4)    byte 1: MASK len(7)
 *  len 126: 16-bit length follows; 127: 64-bit length (top bit 0)
 *  then the 4-byte masking key if MASK, then the payload
 * ```
 */

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** Control frames carry at most 125 payload bytes and are never fragmented (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;
/** Longest header: 2 + 8 (64-bit length) + 4 (mask). */
export const MAX_HEADER_LENGTH = 14;

/** Close codes (§7.4.1) the server sends. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;

export interface FrameHeader {
  fin: boolean;
  /** RSV1–3 as 3 bits (0 unless an extension was negotiated; we negotiate none). */
  rsv: number;
  opcode: number;
  /** The 4-byte masking key, or null for an unmasked frame. */
  mask: Uint8Array | null;
  payloadLength: number;
}

/** A frame that breaks RFC 6455; `closeCode` is what the connection is closed with. */
export class FrameError extends Error {
  override name = "FrameError";
  constructor(readonly closeCode: number, message: string) {
    super(message);
  }
}

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** Opcodes RFC 6455 defines; the others (3–7, 0xb–0xf) are reserved. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= OPCODE_BINARY || (opcode >= OPCODE_CLOSE && opcode <= OPCODE_PONG);
}

/**
 * The header at `buf[offset]` and the offset of its payload, or null if `buf`
 * does not hold the whole header yet. Throws {@link FrameError} (1009) for a
 * 64-bit length beyond 2^53 (no frame we accept is near it) or with its top bit set.
 */
export function decodeFrameHeader(buf: Uint8Array, offset = 0): [FrameHeader, number] | null {
  if (buf.length - offset < 2) return null;
  const b0 = buf[offset];
  const b1 = buf[offset + 1];
  const masked = (b1 & 0x80) !== 0;
  let length = b1 & 0x7f;
  let at = offset + 2;
  const extended = length === 126 ? 2 : length === 127 ? 8 : 0;
  if (buf.length - at < extended + (masked ? 4 : 0)) return null;
  if (extended === 2) {
    length = (buf[at] << 8) | buf[at + 1];
  } else if (extended === 8) {
    const high = ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
    const low = ((buf[at + 4] << 24) | (buf[at + 5] << 16) | (buf[at + 6] << 8) | buf[at + 7]) >>> 0;
    if (high >= 0x200000) throw new FrameError(CLOSE_TOO_BIG, "frame length beyond 2^53 bytes");
    length = high * 0x1_0000_0000 + low;
  }
  at += extended;
  let mask: Uint8Array | null = null;
  if (masked) {
    mask = buf.slice(at, at + 4);
    at += 4;
  }
  return [
    { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0xf, mask, payloadLength: length },
    at,
  ];
}

/** Bytes of the header for a payload of `payloadLength`, with or without a mask. */
export function encodedHeaderLength(payloadLength: number, masked: boolean): number {
  const base = payloadLength < 126 ? 2 : payloadLength <= 0xffff ? 4 : 10;
  return base + (masked ? 4 : 0);
}

/** Writes `header` at `out[offset]` (shortest length form); returns the payload's offset. */
export function encodeFrameHeader(header: FrameHeader, out: Uint8Array, offset = 0): number {
  const length = header.payloadLength;
  out[offset] = (header.fin ? 0x80 : 0) | ((header.rsv & 0x7) << 4) | (header.opcode & 0xf);
  const maskBit = header.mask ? 0x80 : 0;
  let at = offset + 2;
  if (length < 126) {
    out[offset + 1] = maskBit | length;
  } else if (length <= 0xffff) {
    out[offset + 1] = maskBit | 126;
    out[at++] = length >> 8;
    out[at++] = length & 0xff;
  } else {
    out[offset + 1] = maskBit | 127;
    const high = Math.floor(length / 0x1_0000_0000);
    const low = length >>> 0;
    for (const word of [high, low]) {
      out[at++] = word >>> 24;
      out[at++] = (word >>> 16) & 0xff;
      out[at++] = (word >>> 8) & 0xff;
      out[at++] = word & 0xff;
    }
  }
  if (header.mask) {
    out.set(header.mask, at);
    at += 4;
  }
  return at;
}

/** One whole frame: header then `payload` (masked with `mask` if given). */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: { fin?: boolean; mask?: Uint8Array | null; rsv?: number } = {},
): Uint8Array {
  const mask = options.mask ?? null;
  const header = {
    fin: options.fin ?? true,
    rsv: options.rsv ?? 0,
    opcode,
    mask,
    payloadLength: payload.length,
  };
  const out = new Uint8Array(encodedHeaderLength(payload.length, mask !== null) + payload.length);
  const at = encodeFrameHeader(header, out, 0);
  out.set(payload, at);
  if (mask) maskBytes(out.subarray(at), mask, 0);
  return out;
}

/**
 * XORs `bytes` in place with `mask`, starting at mask byte `phase` (0–3): the
 * payload of one frame may arrive in several pieces. Returns the phase after.
 */
export function maskBytes(bytes: Uint8Array, mask: Uint8Array, phase: number): number {
  const length = bytes.length;
  let i = 0;
  // Byte by byte up to a 4-byte boundary of the buffer, then 32 bits at a time.
  while (i < length && ((bytes.byteOffset + i) & 3) !== 0) {
    bytes[i] ^= mask[(phase + i) & 3];
    i++;
  }
  const words = (length - i) >> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    const p = (phase + i) & 3;
    // The mask rotated to start at phase p, in the platform's byte order (little-endian everywhere Deno runs).
    const m = mask[p] | (mask[(p + 1) & 3] << 8) | (mask[(p + 2) & 3] << 16) | (mask[(p + 3) & 3] << 24);
    for (let w = 0; w < words; w++) view[w] ^= m;
    i += words << 2;
  }
  for (; i < length; i++) bytes[i] ^= mask[(phase + i) & 3];
  return (phase + length) & 3;
}

/** Close codes that may appear in a close frame (§7.4; 1005, 1006 and 1015 never do). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The code and reason of a close payload; code null when empty. Throws FrameError (1002, 1007). */
export function decodeClosePayload(payload: Uint8Array): { code: number | null; reason: string } {
  if (payload.length === 0) return { code: null, reason: "" };
  if (payload.length === 1) throw new FrameError(CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) throw new FrameError(CLOSE_PROTOCOL_ERROR, `invalid close code ${code}`);
  let reason: string;
  try {
    reason = strictUtf8.decode(payload.subarray(2));
  } catch {
    throw new FrameError(CLOSE_INVALID_DATA, "close reason is not valid UTF-8");
  }
  return { code, reason };
}

/** A close payload: the code, then the reason cut to fit a control frame. */
export function encodeClosePayload(code: number | null, reason = ""): Uint8Array {
  if (code === null) return new Uint8Array(0);
  let text = new TextEncoder().encode(reason);
  if (text.length > MAX_CONTROL_PAYLOAD - 2) {
    let cut = MAX_CONTROL_PAYLOAD - 2;
    while ((text[cut] & 0xc0) === 0x80) cut--; // not inside a UTF-8 sequence
    text = text.subarray(0, cut);
  }
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}
