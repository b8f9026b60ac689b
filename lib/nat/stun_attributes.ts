/**
 * The typed STUN attributes the NAT behaviour tests use:
 * - address attributes (RFC 5389 §15.1–15.2, RFC 5780 §7.3–7.4): MAPPED-ADDRESS,
 *   OTHER-ADDRESS and RESPONSE-ORIGIN in plain form, XOR-MAPPED-ADDRESS with the
 *   port XORed with the cookie's top half and the address with cookie ‖ transaction ID;
 *   ```
 *   | 0x00 | Family (01 IPv4, 02 IPv6) | Port (16) | Address (32 or 128 bits) |
 *   ```
 * - CHANGE-REQUEST (RFC 5780 §7.2): 32 bits, 0x4 = change IP, 0x2 = change port;
 * - ERROR-CODE (RFC 5389 §15.6): class × 100 + number, and a reason phrase.
 */

import type { TcpAddr } from "../net/addr.ts";
import { STUN_MAGIC_COOKIE, StunError } from "./stun_message.ts";

const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

export const CHANGE_IP = 0x04;
export const CHANGE_PORT = 0x02;

/** Decodes a plain address attribute (MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN). */
export function decodeAddress(value: Uint8Array): TcpAddr {
  if (value.length < 4) throw new StunError(`address attribute of ${value.length} bytes`);
  const family = value[1];
  const length = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : -1;
  if (length < 0) throw new StunError(`unknown address family 0x${family.toString(16)}`);
  if (value.length !== 4 + length) {
    throw new StunError(
      `address attribute of ${value.length} bytes for an IPv${length === 4 ? 4 : 6} address`,
    );
  }
  return { ip: value.slice(4), port: (value[2] << 8) | value[3] };
}

/** Encodes a plain address attribute's value. */
export function encodeAddress(addr: TcpAddr): Uint8Array {
  if (addr.ip.length !== 4 && addr.ip.length !== 16) throw new RangeError("an IP address is 4 or 16 bytes");
  const out = new Uint8Array(4 + addr.ip.length);
  out[1] = addr.ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out[2] = addr.port >> 8;
  out[3] = addr.port & 0xff;
  out.set(addr.ip, 4);
  return out;
}

/** Decodes XOR-MAPPED-ADDRESS with the message's transaction ID. */
export function decodeXorAddress(value: Uint8Array, transactionId: Uint8Array): TcpAddr {
  const addr = decodeAddress(value);
  return xorAddress(addr, transactionId);
}

/** Encodes XOR-MAPPED-ADDRESS for the message with `transactionId`. */
export function encodeXorAddress(addr: TcpAddr, transactionId: Uint8Array): Uint8Array {
  return encodeAddress(xorAddress(addr, transactionId));
}

/** XOR is its own inverse, so one function encodes and decodes. */
function xorAddress(addr: TcpAddr, transactionId: Uint8Array): TcpAddr {
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, STUN_MAGIC_COOKIE);
  mask.set(transactionId, 4);
  const ip = addr.ip.map((byte, i) => byte ^ mask[i]);
  return { ip, port: addr.port ^ (STUN_MAGIC_COOKIE >>> 16) };
}

/** Encodes CHANGE-REQUEST flags ({@link CHANGE_IP} | {@link CHANGE_PORT}). */
export function encodeChangeRequest(flags: number): Uint8Array {
  return new Uint8Array([0, 0, 0, flags & (CHANGE_IP | CHANGE_PORT)]);
}

/** Decodes CHANGE-REQUEST into its flags. */
export function decodeChangeRequest(value: Uint8Array): number {
  if (value.length !== 4) throw new StunError(`CHANGE-REQUEST of ${value.length} bytes`);
  return value[3] & (CHANGE_IP | CHANGE_PORT);
}

/** An ERROR-CODE: the code (300–699) and the reason phrase. */
export interface StunErrorCode {
  code: number;
  reason: string;
}

export function decodeErrorCode(value: Uint8Array): StunErrorCode {
  if (value.length < 4) throw new StunError(`ERROR-CODE of ${value.length} bytes`);
  const code = (value[2] & 0x07) * 100 + value[3];
  return { code, reason: new TextDecoder().decode(value.subarray(4)) };
}

export function encodeErrorCode(error: StunErrorCode): Uint8Array {
  const reason = new TextEncoder().encode(error.reason);
  const out = new Uint8Array(4 + reason.length);
  out[2] = Math.floor(error.code / 100) & 0x07;
  out[3] = error.code % 100;
  out.set(reason, 4);
  return out;
}
