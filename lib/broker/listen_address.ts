/**
 * Go-style listen addresses for `--addr` (SNOWFLAKE-PROTOCOL.md §4.11, default
 * `:443`): `:port` (every interface), `host:port`, `[ipv6]:port`.
 */

export interface ListenAddress {
  /** Empty for every interface. */
  hostname: string;
  /** 0 picks a free port. */
  port: number;
}

/** Parses `text`; throws RangeError with the reason. */
export function parseListenAddress(text: string): ListenAddress {
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new RangeError(`address ${text}: missing port`);
  let hostname = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (hostname.startsWith("[")) {
    if (!hostname.endsWith("]")) throw new RangeError(`address ${text}: missing ']'`);
    hostname = hostname.slice(1, -1);
  } else if (hostname.includes(":")) {
    throw new RangeError(`address ${text}: too many colons (write IPv6 as [addr]:port)`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new RangeError(`address ${text}: invalid port "${portText}"`);
  }
  return { hostname, port: Number(portText) };
}
