/**
 * The /prometheus endpoint (SNOWFLAKE-PROTOCOL.md §4.10): the text exposition
 * format, namespace `snowflake`, with Go's metric names and labels. Families
 * and label pairs are sorted by name as Go's `promhttp` writes them; the
 * `rounded_*` counters are rounded up to a multiple of 8 as Go's
 * `RoundedCounterVec` does. Ours, beside them: `snowflake_waiting_clients`
 * and `snowflake_over_capacity_total`.
 */

import { binCount } from "./collector_stats.ts";
import type { BrokerMetrics, CounterFamily } from "./metrics.ts";
import type { Matcher } from "./matcher.ts";

/** Content-Type of the exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge";
  labels: string[];
  values: CounterFamily;
  rounded?: boolean;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function render(family: Family): string {
  const lines = [`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`];
  const order = family.labels.map((label, i) => [label, i] as const).sort(([a], [b]) => (a < b ? -1 : 1));
  const samples: string[] = [];
  for (const [key, raw] of family.values) {
    const values = family.labels.length ? key.split("\u0000") : [];
    const labels = order.map(([label, i]) => `${label}="${escapeLabel(values[i])}"`).join(",");
    const value = family.rounded ? binCount(raw) : raw;
    samples.push(`${family.name}${labels ? `{${labels}}` : ""} ${value}`);
  }
  if (samples.length === 0) return "";
  return [...lines, ...samples.sort()].join("\n") + "\n";
}

/** The whole exposition: counters from `metrics`, gauges from the matcher's current state. */
export function formatPrometheus(metrics: BrokerMetrics, matcher: Matcher): string {
  const available: CounterFamily = new Map();
  for (const proxy of matcher.knownProxies()) {
    if (!proxy.waiting) continue;
    const key = `${proxy.proxyType}\u0000${proxy.nat}`;
    available.set(key, (available.get(key) ?? 0) + 1);
  }
  const families: Family[] = [
    {
      name: "snowflake_available_proxies",
      help: "The number of currently available snowflake proxies",
      type: "gauge",
      labels: ["type", "nat"],
      values: available,
    },
    {
      name: "snowflake_over_capacity_total",
      help: "Polls and offers refused because the broker's waiting bound was reached",
      type: "counter",
      labels: ["role"],
      values: metrics.overCapacityTotal,
    },
    {
      name: "snowflake_proxy_total",
      help: "The number of unique snowflake IPs",
      type: "counter",
      labels: ["type", "nat", "cc"],
      values: metrics.proxyTotal,
    },
    {
      name: "snowflake_rounded_client_poll_total",
      help: "The number of snowflake client polls, rounded up to a multiple of 8",
      type: "counter",
      labels: ["nat", "status"],
      values: metrics.clientPollTotal,
      rounded: true,
    },
    {
      name: "snowflake_rounded_proxy_poll_rejected_relay_url_extension_total",
      help:
        "The number of snowflake proxy polls rejected by Relay URL Extension, rounded up to a multiple of 8",
      type: "counter",
      labels: ["nat", "type"],
      values: metrics.proxyPollRejectedRelayUrlTotal,
      rounded: true,
    },
    {
      name: "snowflake_rounded_proxy_poll_total",
      help: "The number of snowflake proxy polls, rounded up to a multiple of 8",
      type: "counter",
      labels: ["nat", "status"],
      values: metrics.proxyPollTotal,
      rounded: true,
    },
    {
      name: "snowflake_rounded_proxy_poll_with_relay_url_extension_total",
      help: "The number of snowflake proxy polls with Relay URL Extension, rounded up to a multiple of 8",
      type: "counter",
      labels: ["nat", "type"],
      values: metrics.proxyPollWithRelayUrlTotal,
      rounded: true,
    },
    {
      name: "snowflake_rounded_proxy_poll_without_relay_url_extension_total",
      help: "The number of snowflake proxy polls without Relay URL Extension, rounded up to a multiple of 8",
      type: "counter",
      labels: ["nat", "type"],
      values: metrics.proxyPollWithoutRelayUrlTotal,
      rounded: true,
    },
    {
      name: "snowflake_waiting_clients",
      help: "Clients waiting for their proxy's answer",
      type: "gauge",
      labels: [],
      values: new Map([["", matcher.waitingClients]]),
    },
  ];
  return families.map(render).join("");
}
