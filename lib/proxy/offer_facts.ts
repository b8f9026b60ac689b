/**
 * What the proxy reads from a client's offer SDP: the client's address for
 * the relay's `client_ip` (SNOWFLAKE-PROTOCOL.md §6.6, Go `remoteIPFromSDP`)
 * and the largest data-channel message the client accepts (RFC 8841
 * `a=max-message-size`; 65,536 bytes when absent, as from the Go client;
 * 0 means no limit).
 */

import { formatIp, isLocalIp, isLoopbackIp, isUnspecifiedIp, parseIp } from "../net/addr.ts";

/** RFC 8841 §6.1: the size an offer without `a=max-message-size` implies. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536;

function isRemoteIp(ip: Uint8Array): boolean {
  return !(isLocalIp(ip) || isUnspecifiedIp(ip) || isLoopbackIp(ip));
}

const CONNECTION_LINES = [
  /^c=IN IP4 ([\d.]+)(?:(?:\/\d+)?\/\d+)?(?: |\r?$)/m,
  /^c=IN IP6 ([0-9A-Fa-f:.]+)(?:\/\d+)?(?: |\r?$)/m,
];

/**
 * The first ICE candidate address that is not private, unspecified or
 * loopback; failing that, such an address from a `c=` line; else undefined.
 * Returned in Go's `IP.String` form (IPv6 without brackets).
 */
export function remoteIpFromSdp(sdp: string): string | undefined {
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith("a=candidate:")) continue;
    // foundation component transport priority address port typ ...
    const fields = line.slice("a=candidate:".length).split(" ");
    if (fields.length < 8) continue;
    const ip = parseIp(fields[4]);
    if (ip && isRemoteIp(ip)) return formatIp(ip);
  }
  for (const pattern of CONNECTION_LINES) {
    const match = pattern.exec(sdp);
    if (!match) continue;
    const ip = parseIp(match[1]);
    if (ip && isRemoteIp(ip)) return formatIp(ip);
  }
  return undefined;
}

/** The offer's `a=max-message-size` (Infinity for 0), else {@link DEFAULT_MAX_MESSAGE_SIZE}. */
export function maxMessageSizeFromSdp(sdp: string): number {
  const match = /^a=max-message-size:(\d+)\r?$/m.exec(sdp);
  if (!match) return DEFAULT_MAX_MESSAGE_SIZE;
  const size = Number(match[1]);
  return size === 0 ? Infinity : size;
}
