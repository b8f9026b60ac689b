/**
 * The proxy's Prometheus metrics (`-metrics`, `-metrics-address`,
 * `-metrics-port`, upstream's names): {@link ProxyStats} in the text
 * exposition format at `/internal/metrics` (upstream's path) and `/metrics`.
 * Upstream's four series keep their names (`tor_snowflake_proxy_*`); the
 * rest are ours. No addresses appear here.
 */

import { NAT_TYPES } from "../messages/nat.ts";
import { formatPrometheusText, prometheusHandler, type PrometheusMetric } from "../util/prometheus.ts";
import type { ProxyStats } from "./proxy.ts";

const PREFIX = "tor_snowflake_proxy_";

function metrics(s: ProxyStats): PrometheusMetric[] {
  return [
    {
      name: "connections_total",
      type: "counter",
      help: "Clients whose data channel opened.",
      samples: [["", s.connections]],
    },
    {
      name: "connection_timeouts_total",
      type: "counter",
      help: "Clients that did not open their data channel in time after the answer.",
      samples: [["", s.timeouts]],
    },
    {
      name: "traffic_inbound_bytes_total",
      type: "counter",
      help: "Bytes from the relay relayed to clients.",
      samples: [["", s.bytesToClients]],
    },
    {
      name: "traffic_outbound_bytes_total",
      type: "counter",
      help: "Bytes from clients relayed to the relay.",
      samples: [["", s.bytesFromClients]],
    },
    {
      name: "clients",
      type: "gauge",
      help: "Clients being served now.",
      samples: [["", s.clients]],
    },
    {
      name: "capacity",
      type: "gauge",
      help: "Most clients at once (0 = unlimited).",
      samples: [["", s.capacity]],
    },
    {
      name: "nat_type",
      type: "gauge",
      help: "The NAT type the last test found (1 for that type).",
      samples: NAT_TYPES.map((nat) => [`{type="${nat}"}`, s.nat === nat ? 1 : 0]),
    },
    {
      name: "polls_total",
      type: "counter",
      help: "Broker polls, by outcome.",
      samples: [
        ['{result="match"}', s.matches],
        ['{result="no_match"}', s.noMatches],
        ['{result="error"}', s.brokerErrors],
      ],
    },
    {
      name: "broker_errors_total",
      type: "counter",
      help: "Broker polls that failed (unreachable, bad status, junk reply).",
      samples: [["", s.brokerErrors]],
    },
    {
      name: "client_closes_total",
      type: "counter",
      help: "Client sessions ended, by reason.",
      samples: Object.entries(s.closes).map((
        [reason, n],
      ) => [`{reason="${reason.replaceAll(" ", "_")}"}`, n]),
    },
  ];
}

/** The text exposition of `stats`. */
export function formatProxyPrometheus(stats: ProxyStats): string {
  return formatPrometheusText(metrics(stats), PREFIX);
}

/** A request handler for `/internal/metrics` and `/metrics`; other paths get 404. */
export function proxyMetricsHandler(stats: () => ProxyStats): (request: Request) => Promise<Response> {
  return prometheusHandler(["/internal/metrics", "/metrics"], () => formatProxyPrometheus(stats()));
}
