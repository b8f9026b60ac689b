/**
 * STUN messages (RFC 5389 §6, §15): the 20-byte header and the attribute list,
 * with FINGERPRINT (§15.5) checked on decode and added on request.
 *
 * ```
 *  0                   1                   2                   3
 * |0 0|     STUN Message Type     |         Message Length        |
 * |                         Magic Cookie 0x2112A442               |
 * |                     Transaction ID (96 bits)                  |
 * | Type (16) | Length (16) | Value, padded to 4 bytes | ...     |
 * ```
 * The message length counts the attributes, not the header, and is a multiple
 * of 4. Attribute values are kept as raw bytes here; `stun_attributes.ts`
 * gives the typed ones the NAT tests need.
 */

export const STUN_HEADER_LENGTH = 20;
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_TRANSACTION_ID_LENGTH = 12;

/** Message types (class and method combined, §6). */
export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;
export const STUN_BINDING_ERROR = 0x0111;

/** Attribute types (RFC 5389 §15, RFC 5780 §7). */
export const ATTR_MAPPED_ADDRESS = 0x0001;
export const ATTR_CHANGE_REQUEST = 0x0003; // RFC 5780 §7.2
export const ATTR_USERNAME = 0x0006;
export const ATTR_MESSAGE_INTEGRITY = 0x0008;
export const ATTR_ERROR_CODE = 0x0009;
export const ATTR_UNKNOWN_ATTRIBUTES = 0x000a;
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
export const ATTR_SOFTWARE = 0x8022;
export const ATTR_FINGERPRINT = 0x8028;
export const ATTR_RESPONSE_ORIGIN = 0x802b; // RFC 5780 §7.3
export const ATTR_OTHER_ADDRESS = 0x802c; // RFC 5780 §7.4

/** XORed into the CRC-32 of a FINGERPRINT (§15.5). */
const FINGERPRINT_XOR = 0x5354554e;

/** One attribute: its type and its value without padding. */
export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  /** The 14-bit message type, e.g. {@link STUN_BINDING_REQUEST}. */
  type: number;
  /** 12 bytes. */
  transactionId: Uint8Array;
  /** In wire order; FINGERPRINT is not listed here (see `fingerprint`). */
  attributes: StunAttribute[];
  /** Encode: append a FINGERPRINT. Decode: the message carried a valid one. */
  fingerprint?: boolean;
}

/** A datagram that is not a well-formed STUN message. */
export class StunError extends Error {
  override name = "StunError";
}

/** Whether `buf[offset..]` starts like a STUN message: top bits 00, the magic cookie, a length multiple of 4. */
export function isStunMessage(buf: Uint8Array, offset = 0): boolean {
  if (buf.length - offset < STUN_HEADER_LENGTH) return false;
  const view = new DataView(buf.buffer, buf.byteOffset + offset);
  return (buf[offset] & 0xc0) === 0 && view.getUint32(4) === STUN_MAGIC_COOKIE && view.getUint16(2) % 4 === 0;
}

/** Decodes one message from `buf` at `offset`; returns it and the offset after it. Throws {@link StunError}. */
export function decodeStunMessage(buf: Uint8Array, offset = 0): [StunMessage, number] {
  if (buf.length - offset < STUN_HEADER_LENGTH) {
    throw new StunError(`message of ${buf.length - offset} bytes is shorter than the 20-byte header`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset + offset, buf.length - offset);
  const type = view.getUint16(0);
  const length = view.getUint16(2);
  if (type & 0xc000) throw new StunError("the two top bits of the message type are not zero");
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) throw new StunError("no magic cookie");
  if (length % 4 !== 0) throw new StunError(`message length ${length} is not a multiple of 4`);
  const end = offset + STUN_HEADER_LENGTH + length;
  if (end > buf.length) {
    throw new StunError(`message length ${length} exceeds the ${buf.length - offset - 20} bytes that follow`);
  }
  const transactionId = buf.slice(offset + 8, offset + STUN_HEADER_LENGTH);
  const attributes: StunAttribute[] = [];
  let fingerprint = false;
  let at = offset + STUN_HEADER_LENGTH;
  // `at` and `end` are multiples of 4 past the header, so an attribute header always fits.
  while (at < end) {
    if (fingerprint) throw new StunError("attribute after FINGERPRINT");
    const attrType = (buf[at] << 8) | buf[at + 1];
    const attrLength = (buf[at + 2] << 8) | buf[at + 3];
    const valueEnd = at + 4 + attrLength;
    if (valueEnd > end) throw new StunError(`attribute 0x${attrType.toString(16)} overruns the message`);
    const value = buf.slice(at + 4, valueEnd);
    if (attrType === ATTR_FINGERPRINT) {
      if (attrLength !== 4) throw new StunError("FINGERPRINT is not 4 bytes");
      const expected = computeFingerprint(buf.subarray(offset, at), at + 8 - offset - STUN_HEADER_LENGTH);
      if (new DataView(value.buffer).getUint32(0) !== expected) throw new StunError("FINGERPRINT mismatch");
      fingerprint = true;
    } else {
      attributes.push({ type: attrType, value });
    }
    at = valueEnd + padding(attrLength);
  }
  return [{ type, transactionId, attributes, fingerprint }, end];
}

/** The encoded size of `message` in bytes. */
export function encodedStunLength(message: StunMessage): number {
  let length = STUN_HEADER_LENGTH;
  for (const attr of message.attributes) length += 4 + attr.value.length + padding(attr.value.length);
  return length + (message.fingerprint ? 8 : 0);
}

/** Encodes `message` into `out` at `offset` (zero padding); returns the offset after it. */
export function encodeStunMessage(message: StunMessage, out: Uint8Array, offset = 0): number {
  if (message.transactionId.length !== STUN_TRANSACTION_ID_LENGTH) {
    throw new RangeError("a STUN transaction ID is 12 bytes");
  }
  if (message.type & 0xc000) throw new RangeError("a STUN message type has 14 bits");
  const total = encodedStunLength(message);
  if (total - STUN_HEADER_LENGTH > 0xffff) throw new RangeError("STUN message too long");
  if (out.length - offset < total) throw new RangeError("output buffer too small");
  const view = new DataView(out.buffer, out.byteOffset + offset, total);
  view.setUint16(0, message.type);
  view.setUint16(2, total - STUN_HEADER_LENGTH);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(message.transactionId, offset + 8);
  let at = STUN_HEADER_LENGTH;
  for (const attr of message.attributes) {
    if (attr.value.length > 0xffff) throw new RangeError("STUN attribute too long");
    view.setUint16(at, attr.type);
    view.setUint16(at + 2, attr.value.length);
    out.set(attr.value, offset + at + 4);
    const pad = padding(attr.value.length);
    out.fill(0, offset + at + 4 + attr.value.length, offset + at + 4 + attr.value.length + pad);
    at += 4 + attr.value.length + pad;
  }
  if (message.fingerprint) {
    view.setUint16(at, ATTR_FINGERPRINT);
    view.setUint16(at + 2, 4);
    view.setUint32(at + 4, computeFingerprint(out.subarray(offset, offset + at), total - STUN_HEADER_LENGTH));
  }
  return offset + total;
}

/** Encodes `message` into a fresh array. */
export function encodeStunMessageBytes(message: StunMessage): Uint8Array {
  const out = new Uint8Array(encodedStunLength(message));
  encodeStunMessage(message, out);
  return out;
}

/** The first attribute of `type`, or undefined. */
export function findAttribute(message: StunMessage, type: number): Uint8Array | undefined {
  return message.attributes.find((attr) => attr.type === type)?.value;
}

function padding(length: number): number {
  return (4 - (length % 4)) % 4;
}

/**
 * CRC-32 of `prefix` (the message up to the FINGERPRINT attribute) as if its
 * length field read `lengthField` (the length including the FINGERPRINT), XOR 0x5354554e.
 */
function computeFingerprint(prefix: Uint8Array, lengthField: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < prefix.length; i++) {
    let byte = prefix[i];
    if (i === 2) byte = lengthField >> 8;
    else if (i === 3) byte = lengthField & 0xff;
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return ((crc ^ 0xffffffff) ^ FINGERPRINT_XOR) >>> 0;
}

/** The IEEE CRC-32 table (reflected polynomial 0xEDB88320). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();
