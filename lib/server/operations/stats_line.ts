/**
 * The periodic stats line (SNOWFLAKE-PROTOCOL.md §8.6: Go logs once a day
 * `in the past <secs> s, <n>/<m> connections had client_ip`). Ours starts with
 * the same words and adds what an operator wants next: upgrades pending and
 * failed (timed out, refused at a limit, not WebSocket), connections by mode,
 * sessions, streams, tor failures and bytes, each for the interval.
 */

import type { CarrierCounters, TunnelCounters } from "./counters.ts";
import type { UpgradeFailure } from "./events.ts";

type NumberKeys<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];

/** A snapshot of both kinds of counters. */
export interface StatsSnapshot {
  /** The WebSocket side (main thread). */
  carrier: CarrierCounters;
  /** The KCP instances' counters, added up. */
  tunnel: TunnelCounters;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The line for the interval between snapshots `before` and `now`, `seconds` long. */
export function formatStatsLine(before: StatsSnapshot, now: StatsSnapshot, seconds: number): string {
  const c = (key: NumberKeys<CarrierCounters>) => now.carrier[key] - before.carrier[key];
  const u = (...reasons: UpgradeFailure[]) =>
    reasons.reduce((sum, r) => sum + now.carrier.upgradeFailures[r] - before.carrier.upgradeFailures[r], 0);
  const t = (key: keyof TunnelCounters) => now.tunnel[key] - before.tunnel[key];
  return [
    `in the past ${seconds.toFixed(0)} s, ${c("withClientIp")}/${
      c("connections")
    } connections had client_ip;`,
    `upgrades: ${now.carrier.upgradesPending} pending, ${u("timeout")} timed out, ${
      u("pending-limit", "connection-limit")
    } refused at a limit, ${u("bad-request", "not-websocket")} not WebSocket;`,
    `connections: ${c("turbotunnel")} turbotunnel, ${c("legacy")} legacy, ${c("refused")} refused,`,
    `${now.carrier.connectionsOpen} open;`,
    `sessions: ${t("sessionsAccepted")} new, ${
      t("sessionsRefused")
    } refused, ${now.tunnel.sessionsOpen} open;`,
    `streams: ${t("streamsAccepted")} new, ${
      t("torFailures")
    } failed to reach tor, ${now.tunnel.streamsOpen} open;`,
    `bytes: ${megabytes(c("bytesFromClients"))} from clients, ${megabytes(c("bytesToClients"))} to clients,`,
    `${megabytes(t("bytesToTor"))} to tor, ${megabytes(t("bytesFromTor"))} from tor;`,
    `packets dropped: ${t("packetsDroppedIncoming")} incoming, ${t("packetsDroppedOutgoing")} outgoing;`,
    `KCP segments resent: ${t("retransmitsTimeout")} on timeout, ${t("retransmitsEarly")} early, ${
      t("retransmitsFast")
    } fast`,
  ].join(" ");
}
