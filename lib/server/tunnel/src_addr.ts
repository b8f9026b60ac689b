/**
 * The `orport-srcaddr` transport option (SNOWFLAKE-PROTOCOL.md §8.2): the
 * source address for connections to tor, an IP or a CIDR range; for a range,
 * each connection gets a fresh random address inside it (random bytes with the
 * network bits forced), which spreads a busy bridge's connections over many
 * source addresses (tor limits connections per address).
 */

import { formatIp, parseIp } from "../../net/addr.ts";

/** A malformed `orport-srcaddr`; the message is what follows "parsing srcaddr: ". */
export class SrcAddrError extends Error {
  override name = "SrcAddrError";
}

/** An IP range (a bare IP is a /32 or /128). */
export interface SrcAddrRange {
  /** Network address bytes (4 or 16). */
  ip: Uint8Array;
  /** Prefix length in bits. */
  bits: number;
}

/** Parses `1.2.3.4`, `127.0.2.0/24`, `2001:db8::/64` (a bare IP is a /32 or /128). */
export function parseSrcAddr(text: string): SrcAddrRange {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) throw new SrcAddrError(`invalid CIDR address: ${text}`);
  const maxBits = ip.length * 8;
  if (slash < 0) return { ip, bits: maxBits };
  const bitsText = text.slice(slash + 1);
  const bits = Number(bitsText);
  if (!/^\d{1,3}$/.test(bitsText) || bits > maxBits) throw new SrcAddrError(`invalid CIDR address: ${text}`);
  return { ip, bits };
}

/** A random address inside `range`, as a string for a dialer's local address. */
export function randomSrcAddr(
  range: SrcAddrRange,
  random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes),
): string {
  const out = random(new Uint8Array(range.ip.length));
  for (let i = 0; i < out.length; i++) {
    const networkBits = Math.max(0, Math.min(8, range.bits - 8 * i));
    const mask = (0xff00 >> networkBits) & 0xff; // 1s where the bits are the network's
    out[i] = (range.ip[i] & mask) | (out[i] & ~mask & 0xff);
  }
  return formatIp(out);
}
