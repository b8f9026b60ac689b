/**
 * The server's counters, for the periodic stats line and the Prometheus
 * endpoint. The connection side is counted from the server's typed events
 * ({@link countServerEvents}); the tunnel side is plain numbers, so a KCP
 * instance in a Web Worker can send its own to the main thread to be added up.
 */

import type { CarrierCloseReason, ServerEvents, TunnelEvent, UpgradeFailure } from "./events.ts";

export const UPGRADE_FAILURES: readonly UpgradeFailure[] = [
  "pending-limit",
  "timeout",
  "bad-request",
  "not-websocket",
  "connection-limit",
  "abandoned",
  "error",
];

export const CARRIER_CLOSE_REASONS: readonly CarrierCloseReason[] = [
  "peer-closed",
  "no-preamble",
  "legacy-refused",
  "encapsulation",
  "idle",
  "write-stall",
  "protocol-error",
  "tor-unreachable",
  "error",
  "server-closed",
];

/** WebSocket-side counters (main thread). Totals since start unless "open" or "pending". */
export interface CarrierCounters {
  /** TCP (or TLS) connections accepted. */
  accepted: number;
  /** Connections accepted that have not finished (or failed) their upgrade yet. */
  upgradesPending: number;
  /** Connections that never became a WebSocket, by why. */
  upgradeFailures: Record<UpgradeFailure, number>;
  /** Carriers ended, by why. */
  closes: Record<CarrierCloseReason, number>;
  /** WebSocket connections accepted. */
  connections: number;
  /** WebSocket connections open now. */
  connectionsOpen: number;
  /** Connections that sent the Turbo Tunnel token. */
  turbotunnel: number;
  /** Connections without the token, carried as a raw stream to tor. */
  legacy: number;
  /** WebSockets ended before any use: bad or missing preamble, legacy refused. */
  refused: number;
  /** Connections whose proxy reported a usable `client_ip`. */
  withClientIp: number;
  /** Payload bytes received from proxies (clients' upstream). */
  bytesFromClients: number;
  /** Payload bytes sent to proxies (clients' downstream). */
  bytesToClients: number;
}

/** Counters of one KCP instance (sessions, streams, tor side). */
export interface TunnelCounters {
  /** KCP sessions accepted. */
  sessionsAccepted: number;
  /** KCP sessions open now. */
  sessionsOpen: number;
  /** Packets that would have started a session, dropped at the session limit or a full accept backlog. */
  sessionsRefused: number;
  /** smux streams accepted (each one a connection to tor). */
  streamsAccepted: number;
  /** smux streams open now. */
  streamsOpen: number;
  /** Streams closed because tor could not be reached or refused the ExtORPort handshake. */
  torFailures: number;
  /** Bytes written to tor. */
  bytesToTor: number;
  /** Bytes read from tor. */
  bytesFromTor: number;
  /** Packets from clients dropped because the KCP input queue was full. */
  packetsDroppedIncoming: number;
  /** Packets to clients dropped because a client's send queue was full. */
  packetsDroppedOutgoing: number;
  /** KCP segments resent on timeout, sessions open and ended. */
  retransmitsTimeout: number;
  /** ... early: an ACK skipped them while there was nothing new to send (kcp-go's early retransmit). */
  retransmitsEarly: number;
  /** ... fast (fastresend; 0 in Snowflake's configuration). */
  retransmitsFast: number;
}

export function newCarrierCounters(): CarrierCounters {
  return {
    accepted: 0,
    upgradesPending: 0,
    upgradeFailures: Object.fromEntries(UPGRADE_FAILURES.map((r) => [r, 0])) as Record<
      UpgradeFailure,
      number
    >,
    closes: Object.fromEntries(CARRIER_CLOSE_REASONS.map((r) => [r, 0])) as Record<
      CarrierCloseReason,
      number
    >,
    connections: 0,
    connectionsOpen: 0,
    turbotunnel: 0,
    legacy: 0,
    refused: 0,
    withClientIp: 0,
    bytesFromClients: 0,
    bytesToClients: 0,
  };
}

export function newTunnelCounters(): TunnelCounters {
  return {
    sessionsAccepted: 0,
    sessionsOpen: 0,
    sessionsRefused: 0,
    streamsAccepted: 0,
    streamsOpen: 0,
    torFailures: 0,
    bytesToTor: 0,
    bytesFromTor: 0,
    packetsDroppedIncoming: 0,
    packetsDroppedOutgoing: 0,
    retransmitsTimeout: 0,
    retransmitsEarly: 0,
    retransmitsFast: 0,
  };
}

/** Field-wise sum of several instances' counters. */
export function sumTunnelCounters(all: TunnelCounters[]): TunnelCounters {
  const total = newTunnelCounters();
  for (const counters of all) {
    for (const key of Object.keys(total) as (keyof TunnelCounters)[]) total[key] += counters[key];
  }
  return total;
}

/** A copy that shares nothing with `counters`. */
export function copyCarrierCounters(counters: CarrierCounters): CarrierCounters {
  return { ...counters, upgradeFailures: { ...counters.upgradeFailures }, closes: { ...counters.closes } };
}

/** Keeps `counters` up to date from `events`. */
export function countServerEvents(events: ServerEvents, counters: CarrierCounters): void {
  events.addEventListener("connectionaccepted", () => {
    counters.accepted++;
    counters.upgradesPending++;
  });
  events.addEventListener("upgradefailed", (e) => {
    counters.upgradesPending--;
    counters.upgradeFailures[e.detail.reason]++;
  });
  events.addEventListener("carrieropened", (e) => {
    counters.upgradesPending--;
    counters.connections++;
    counters.connectionsOpen++;
    if (e.detail.withClientIp) counters.withClientIp++;
  });
  events.addEventListener("carriermode", (e) => {
    counters[e.detail.mode]++;
  });
  events.addEventListener("carrierclosed", (e) => {
    const { detail } = e;
    counters.connectionsOpen--;
    counters.closes[detail.reason]++;
    if (detail.mode === "none") counters.refused++;
    counters.bytesFromClients += detail.bytesFromClient;
    counters.bytesToClients += detail.bytesToClient;
  });
}

/** Counts one KCP instance's event into its counters (the instance calls this for each event it reports). */
export function countTunnelEvent(counters: TunnelCounters, event: TunnelEvent): void {
  switch (event.type) {
    case "sessionopened":
      counters.sessionsAccepted++;
      counters.sessionsOpen++;
      break;
    case "sessionclosed":
      counters.sessionsOpen--;
      break;
    case "streamfailed":
      counters.torFailures++;
      break;
  }
}
