/**
 * Kernel socket addresses (struct sockaddr_in, sockaddr_in6) to and from our
 * "host:port" strings, for the libc UDP socket of lib/net/udp.ts. Hosts are IP
 * literals: nothing here resolves names.
 *
 * Text forms follow Go's (IP literals are parsed and printed as Go's net
 * package does, by lib/net/addr.ts): IPv6 as RFC 5952, and an IPv4-mapped IPv6
 * address (what a dual-stack socket bound to "::" sees of an IPv4 peer) as
 * plain IPv4, so that replying to it works on an IPv4 socket too; an IPv4
 * destination on an IPv6 socket is sent IPv4-mapped.
 * Link-local scope ids are not supported (the address syntax has no "%zone").
 */

import { formatIp, parseIp } from "../../../lib/net/addr.ts";
import { AF_INET, AF_INET6 } from "./udp_libc.ts";
import { parseUdpAddr } from "../../../lib/net/udp_addr.ts";

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * The sockaddr for `addr` ("ip:port", "[ipv6]:port") on a socket of `family`;
 * null when that socket cannot reach it (an IPv6 address from an IPv4 socket).
 * Throws RangeError when `addr` is not an IP address and port.
 */
export function encodeSockaddr(addr: string, family: number): Uint8Array | null {
  const { hostname, port } = parseUdpAddr(addr);
  const ip = parseIp(hostname);
  if (ip === null) throw new RangeError(`not an IP address: ${JSON.stringify(hostname)} (in ${addr})`);
  if (family === AF_INET) {
    if (ip.length !== 4) return null;
    const out = new Uint8Array(SOCKADDR_IN_SIZE);
    const view = new DataView(out.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port);
    out.set(ip, 4);
    return out;
  }
  const out = new Uint8Array(SOCKADDR_IN6_SIZE);
  const view = new DataView(out.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port);
  out.set(ip.length === 4 ? [...V4_MAPPED_PREFIX, ...ip] : ip, 8);
  return out;
}

/** "host:port" of a sockaddr_in or sockaddr_in6 (`bytes` holds exactly the kernel's msg_namelen). */
export function decodeSockaddr(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const family = bytes.length >= 2 ? view.getUint16(0, true) : -1;
  if (family === AF_INET && bytes.length >= SOCKADDR_IN_SIZE) {
    return `${formatIp(bytes.subarray(4, 8))}:${view.getUint16(2)}`;
  }
  if (family === AF_INET6 && bytes.length >= SOCKADDR_IN6_SIZE) {
    const ip = bytes.subarray(8, 24);
    const port = view.getUint16(2);
    if (V4_MAPPED_PREFIX.every((byte, i) => ip[i] === byte)) return `${formatIp(ip.subarray(12))}:${port}`;
    return `[${formatIp(ip)}]:${port}`;
  }
  throw new RangeError(`unexpected socket address (family ${family}, ${bytes.length} bytes)`);
}
