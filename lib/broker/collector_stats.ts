/**
 * The broker's metrics log in the CollecTor "snowflake-stats" format
 * (SNOWFLAKE-PROTOCOL.md §4.10; Go `broker/metrics.go` `printMetrics`, spec
 * `doc/broker-spec.txt` §1), written once per period and served at /metrics.
 * Counts named "count" are rounded up to a multiple of 8 for privacy.
 */

import { KNOWN_PROXY_TYPES, PROXY_TYPE_UNKNOWN } from "../messages/proxy_poll.ts";
import { NAT_TYPES } from "../messages/nat.ts";
import type { BrokerMetrics } from "./metrics.ts";

/** Go `metricsResolution`: one period is a day. */
export const METRICS_PERIOD_SECONDS = 86_400;

/** Rounds up to a multiple of 8 (Go `binCount`). */
export function binCount(count: number): number {
  return Math.ceil(count / 8) * 8;
}

/** `CC=N,CC=N` by count descending, then country code ascending (Go `CountryStats.Display`). */
export function formatCountryCounts(countries: Map<string, number>): string {
  return [...countries]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([cc, n]) => `${cc}=${n}`)
    .join(",");
}

/** `2006-01-02 15:04:05` in UTC. */
function formatStatsTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** The block for the period ending at `end`, each line ending in LF. */
export function formatCollectorStats(
  metrics: BrokerMetrics,
  end: Date,
  periodSeconds: number = METRICS_PERIOD_SECONDS,
): string {
  const c = metrics.counts;
  const lines = [
    `snowflake-stats-end ${formatStatsTime(end)} (${periodSeconds} s)`,
    // Go's Println puts a space between the keyword and an empty list too.
    `snowflake-ips ${formatCountryCounts(metrics.countries)}`,
  ];
  let total = metrics.addressesByType.get(PROXY_TYPE_UNKNOWN)?.size ?? 0;
  for (const type of KNOWN_PROXY_TYPES) {
    const n = metrics.addressesByType.get(type)?.size ?? 0;
    lines.push(`snowflake-ips-${type} ${n}`);
    total += n;
  }
  lines.push(
    `snowflake-ips-total ${total}`,
    `snowflake-idle-count ${binCount(c.proxyIdle)}`,
    `snowflake-proxy-poll-with-relay-url-count ${binCount(c.proxyPollWithRelayUrl)}`,
    `snowflake-proxy-poll-without-relay-url-count ${binCount(c.proxyPollWithoutRelayUrl)}`,
    `snowflake-proxy-rejected-for-relay-url-count ${binCount(c.proxyRejectedForRelayUrl)}`,
    `client-denied-count ${binCount(c.clientDenied)}`,
    `client-restricted-denied-count ${binCount(c.clientRestrictedDenied)}`,
    `client-unrestricted-denied-count ${binCount(c.clientUnrestrictedDenied)}`,
    `client-snowflake-match-count ${binCount(c.clientMatch)}`,
  );
  for (const nat of NAT_TYPES) lines.push(`snowflake-ips-nat-${nat} ${metrics.natAddressCount(nat)}`);
  return lines.join("\n") + "\n";
}
