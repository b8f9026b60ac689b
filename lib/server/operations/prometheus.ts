/**
 * The optional Prometheus endpoint (`-metrics-address`): the server's counters
 * in the text exposition format, at `/metrics`. Counters are totals since
 * start; `*_open` values are gauges. No addresses or ClientIDs appear here.
 */

import { CARRIER_CLOSE_REASONS, UPGRADE_FAILURES } from "./counters.ts";
import type { StatsSnapshot } from "./stats_line.ts";
import { formatPrometheusText, prometheusHandler, type PrometheusMetric } from "../../util/prometheus.ts";

function metrics(s: StatsSnapshot): PrometheusMetric[] {
  const { carrier, tunnel } = s;
  return [
    {
      name: "snowflake_server_websocket_connections_total",
      type: "counter",
      help: "WebSocket connections accepted, by what they turned out to be.",
      samples: [
        ['{mode="turbotunnel"}', carrier.turbotunnel],
        ['{mode="legacy"}', carrier.legacy],
        ['{mode="refused"}', carrier.refused],
      ],
    },
    {
      name: "snowflake_server_connections_accepted_total",
      type: "counter",
      help: "TCP (or TLS) connections accepted by the WebSocket listener.",
      samples: [["", carrier.accepted]],
    },
    {
      name: "snowflake_server_upgrades_pending",
      type: "gauge",
      help: "Connections accepted that have not finished their WebSocket upgrade.",
      samples: [["", carrier.upgradesPending]],
    },
    {
      name: "snowflake_server_upgrades_failed_total",
      type: "counter",
      help: "Connections that never became a WebSocket, by reason.",
      samples: UPGRADE_FAILURES.map((r) => [`{reason="${r}"}`, carrier.upgradeFailures[r]]),
    },
    {
      name: "snowflake_server_websocket_closes_total",
      type: "counter",
      help: "WebSocket connections ended, by reason.",
      samples: CARRIER_CLOSE_REASONS.map((r) => [`{reason="${r}"}`, carrier.closes[r]]),
    },
    {
      name: "snowflake_server_websocket_connections_open",
      type: "gauge",
      help: "WebSocket connections open now.",
      samples: [["", carrier.connectionsOpen]],
    },
    {
      name: "snowflake_server_websocket_connections_with_client_ip_total",
      type: "counter",
      help: "WebSocket connections whose proxy reported a usable client_ip.",
      samples: [["", carrier.withClientIp]],
    },
    {
      name: "snowflake_server_websocket_bytes_total",
      type: "counter",
      help: "Bytes carried by WebSocket connections, by direction.",
      samples: [['{direction="from_clients"}', carrier.bytesFromClients], [
        '{direction="to_clients"}',
        carrier.bytesToClients,
      ]],
    },
    {
      name: "snowflake_server_sessions_total",
      type: "counter",
      help: "KCP sessions accepted, and refused at the session limit.",
      samples: [['{result="accepted"}', tunnel.sessionsAccepted], [
        '{result="refused"}',
        tunnel.sessionsRefused,
      ]],
    },
    {
      name: "snowflake_server_sessions_open",
      type: "gauge",
      help: "KCP sessions open now.",
      samples: [["", tunnel.sessionsOpen]],
    },
    {
      name: "snowflake_server_streams_total",
      type: "counter",
      help: "smux streams accepted (each one a connection to tor).",
      samples: [["", tunnel.streamsAccepted]],
    },
    {
      name: "snowflake_server_streams_open",
      type: "gauge",
      help: "smux streams open now.",
      samples: [["", tunnel.streamsOpen]],
    },
    {
      name: "snowflake_server_tor_failures_total",
      type: "counter",
      help: "Connections to tor that failed (connect, ExtORPort authentication).",
      samples: [["", tunnel.torFailures]],
    },
    {
      name: "snowflake_server_tor_bytes_total",
      type: "counter",
      help: "Bytes exchanged with tor, by direction.",
      samples: [['{direction="to_tor"}', tunnel.bytesToTor], ['{direction="from_tor"}', tunnel.bytesFromTor]],
    },
    {
      name: "snowflake_server_packets_dropped_total",
      type: "counter",
      help: "Turbo Tunnel packets dropped at a full queue, by direction.",
      samples: [['{direction="incoming"}', tunnel.packetsDroppedIncoming], [
        '{direction="outgoing"}',
        tunnel.packetsDroppedOutgoing,
      ]],
    },
    {
      name: "snowflake_server_kcp_retransmits_total",
      type: "counter",
      help: "KCP segments resent, by cause (timeout; early: skipped by an ACK; fast).",
      samples: [
        ['{cause="timeout"}', tunnel.retransmitsTimeout],
        ['{cause="early"}', tunnel.retransmitsEarly],
        ['{cause="fast"}', tunnel.retransmitsFast],
      ],
    },
  ];
}

/** The Prometheus text exposition of a snapshot. */
export function formatServerPrometheus(snapshot: StatsSnapshot): string {
  return formatPrometheusText(metrics(snapshot));
}

/** A request handler serving `/metrics` from `snapshot()`; other paths get 404. */
export function serverMetricsHandler(
  snapshot: () => Promise<StatsSnapshot>,
): (request: Request) => Promise<Response> {
  return prometheusHandler(["/metrics"], async () => formatServerPrometheus(await snapshot()));
}
