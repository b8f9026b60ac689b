/**
 * The /debug page (SNOWFLAKE-PROTOCOL.md §4.10; Go `broker/ipc.go` `Debug`):
 * proxies known to the broker (waiting, or matched and awaiting their answer)
 * by type and NAT type, in Go's layout. Go prints the type lines in map
 * order; we sort them.
 */

import { KNOWN_PROXY_TYPES } from "../messages/proxy_poll.ts";
import { NAT_RESTRICTED, NAT_UNRESTRICTED } from "../messages/nat.ts";
import type { Matcher } from "./matcher.ts";

export function formatDebugPage(matcher: Matcher): string {
  let total = 0;
  let unknownType = 0;
  let restricted = 0;
  let unrestricted = 0;
  let unknownNat = 0;
  const byType = new Map<string, number>();
  for (const proxy of matcher.knownProxies()) {
    total++;
    if (KNOWN_PROXY_TYPES.includes(proxy.proxyType)) {
      byType.set(proxy.proxyType, (byType.get(proxy.proxyType) ?? 0) + 1);
    } else {
      unknownType++;
    }
    if (proxy.nat === NAT_RESTRICTED) restricted++;
    else if (proxy.nat === NAT_UNRESTRICTED) unrestricted++;
    else unknownNat++;
  }
  let page = `current snowflakes available: ${total}\n`;
  for (const [type, n] of [...byType].sort(([a], [b]) => (a < b ? -1 : 1))) {
    page += `\t${type} proxies: ${n}\n`;
  }
  page += `\tunknown proxies: ${unknownType}`;
  page += "\nNAT Types available:";
  page += `\n\trestricted: ${restricted}`;
  page += `\n\tunrestricted: ${unrestricted}`;
  page += `\n\tunknown: ${unknownNat}`;
  return page;
}
