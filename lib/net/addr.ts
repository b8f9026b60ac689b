/**
 * IP literals and `host:port` strings as the PT protocol carries them
 * (SNOWFLAKE-PROTOCOL.md §9.1, §8.6): Go's `net.ParseIP`, `SplitHostPort` and
 * `TCPAddr.String`, and goptlib's `resolveAddr`, which takes only IP literals
 * and also accepts the unbracketed IPv6 `::1:9000` old tor versions write.
 */

/** An IP address and port. `ip` is 4 bytes (IPv4) or 16 (IPv6). */
export interface TcpAddr {
  /** 4 or 16 bytes. */
  ip: Uint8Array;
  /** 0–65535. */
  port: number;
}

/** A malformed address; the message names what is wrong. */
export class AddrError extends Error {
  override name = "AddrError";
}

const V4_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Parses a dotted IPv4 address (no leading zeros, as Go ≥ 1.17) into 4 bytes. */
function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return null;
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

/** Parses an IPv6 address (with `::` and an optional trailing dotted IPv4) into 16 bytes. */
function parseIpv6(text: string): Uint8Array | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  // A dotted IPv4 is allowed only at the very end.
  if (halves.length === 2 && halves[0].includes(".")) return null;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    all = [...head, ...new Array(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    all = head;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/** Go's `net.ParseIP`: 4 bytes for IPv4 and for IPv4-mapped IPv6, else 16; null if not an IP literal. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(":")) {
    const v6 = parseIpv6(text);
    if (!v6) return null;
    return V4_PREFIX.every((b, i) => v6[i] === b) ? v6.slice(12) : v6;
  }
  return parseIpv4(text);
}

/** Whether `ip` is 0.0.0.0 or `::`. */
export function isUnspecifiedIp(ip: Uint8Array): boolean {
  return ip.every((b) => b === 0);
}

/** Go's `IP.String`: dotted IPv4, or RFC 5952 IPv6 (longest run of ≥ 2 zero groups as `::`). */
export function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((ip[2 * i] << 8) | ip[2 * i + 1]);
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** `1.2.3.4:5` or `[2001:db8::1]:5`, as Go's `TCPAddr.String`. */
export function formatTcpAddr(addr: TcpAddr): string {
  const host = formatIp(addr.ip);
  return addr.ip.length === 16 ? `[${host}]:${addr.port}` : `${host}:${addr.port}`;
}

/** Go's `net.SplitHostPort`: `host:port` or `[host]:port`. */
export function splitHostPort(text: string): [string, string] {
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) throw new AddrError(`address ${text}: missing ']' in address`);
    if (text[end + 1] !== ":") {
      throw new AddrError(
        `address ${text}: ${
          end + 1 === text.length ? "missing port in address" : "too many colons in address"
        }`,
      );
    }
    const port = text.slice(end + 2);
    if (port.includes(":") || text.slice(1, end).includes("[")) {
      throw new AddrError(`address ${text}: too many colons in address`);
    }
    return [text.slice(1, end), port];
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new AddrError(`address ${text}: missing port in address`);
  const host = text.slice(0, colon);
  if (host.includes(":")) throw new AddrError(`address ${text}: too many colons in address`);
  if (host.includes("]")) throw new AddrError(`address ${text}: unexpected ']' in address`);
  return [host, text.slice(colon + 1)];
}

/** Parses a decimal port 0–65535. */
export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new AddrError(`invalid port ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** goptlib's `resolveAddr`: an IP literal and a port; unbracketed IPv6 takes the last `:` as the separator. */
export function resolveAddr(text: string): TcpAddr {
  let host: string, port: string;
  try {
    [host, port] = splitHostPort(text);
  } catch (error) {
    const parts = text.split(":");
    if (parts.length <= 2) throw error;
    [host, port] = [parts.slice(0, -1).join(":"), parts[parts.length - 1]];
  }
  if (host === "") throw new AddrError(`address string ${JSON.stringify(text)} lacks a host part`);
  if (port === "") throw new AddrError(`address string ${JSON.stringify(text)} lacks a port part`);
  const ip = parseIp(host);
  if (!ip) throw new AddrError(`not an IP string: ${JSON.stringify(host)}`);
  return { ip, port: parsePort(port) };
}

/** A `host:port` for Deno.connect/Deno.serve: the host without brackets. */
export function tcpAddrHost(addr: TcpAddr): string {
  return formatIp(addr.ip);
}

/** Whether `ip` is a loopback address: 127/8 or `::1`. */
export function isLoopbackIp(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 127;
  return ip.subarray(0, 15).every((b) => b === 0) && ip[15] === 1;
}

/** Whether `ip` is link-local: 169.254/16 or fe80::/10. */
export function isLinkLocalIp(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 169 && ip[1] === 254;
  return ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80;
}

/**
 * Go Snowflake's `util.IsLocal` (SNOWFLAKE-PROTOCOL.md §6.6): 10/8,
 * 172.16/12, 192.168/16 (RFC 1918), 100.64/10 (RFC 6598), 169.254/16
 * (RFC 3927), fc00::/7 (RFC 4193).
 */
export function isLocalIp(ip: Uint8Array): boolean {
  if (ip.length === 4) {
    return ip[0] === 10 || (ip[0] === 172 && (ip[1] & 0xf0) === 16) || (ip[0] === 192 && ip[1] === 168) ||
      (ip[0] === 100 && (ip[1] & 0xc0) === 64) || (ip[0] === 169 && ip[1] === 254);
  }
  return (ip[0] & 0xfe) === 0xfc;
}

/**
 * Whether a packet to `ip` could reach this host or its local network:
 * unspecified, loopback, link-local or {@link isLocalIp}. The proxy refuses to
 * relay to such an address unless told to (a relay URL from the broker must
 * not let a client reach the proxy's LAN).
 */
export function isNonPublicIp(ip: Uint8Array): boolean {
  return isUnspecifiedIp(ip) || isLoopbackIp(ip) || isLinkLocalIp(ip) || isLocalIp(ip);
}
