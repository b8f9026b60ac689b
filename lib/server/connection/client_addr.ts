/**
 * The client address a proxy reports in the `client_ip` query parameter of its
 * WebSocket URL, in the form ExtORPort's USERADDR wants (SNOWFLAKE-PROTOCOL.md
 * §8.6): missing, unparsable or unspecified (0.0.0.0, ::; some proxies send
 * those) → "" (no USERADDR); otherwise the IP with the stub port 1:
 * `1.2.3.4:1`, `[2001:db8::1]:1`; an IPv4-mapped IPv6 becomes `1.2.3.4:1`.
 */

import { formatTcpAddr, isUnspecifiedIp, parseIp } from "../../net/addr.ts";

/** USERADDR for a `client_ip` value (first value of the parameter), or "". */
export function clientAddr(clientIpParam: string | null | undefined): string {
  if (!clientIpParam) return "";
  const ip = parseIp(clientIpParam);
  if (!ip || isUnspecifiedIp(ip)) return "";
  return formatTcpAddr({ ip, port: 1 });
}
