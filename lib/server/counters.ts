/**
 * The server's counters: plain objects of numbers, so a KCP instance in a Web
 * Worker can send its own to the main thread, where they are added up for the
 * periodic stats line and the Prometheus endpoint.
 */

/** WebSocket-side counters (main thread). Totals since start unless "open". */
export interface CarrierCounters {
  /** WebSocket connections accepted. */
  connections: number;
  /** WebSocket connections open now. */
  connectionsOpen: number;
  /** Connections that sent the Turbo Tunnel token. */
  turbotunnel: number;
  /** Connections without the token, carried as a raw stream to tor. */
  legacy: number;
  /** Connections ended before any use: bad or missing preamble, legacy refused, over the limit. */
  refused: number;
  /** Connections whose proxy reported a usable `client_ip`. */
  withClientIp: number;
  bytesFromClients: number;
  bytesToClients: number;
}

/** Counters of one KCP instance (sessions, streams, tor side). */
export interface TunnelCounters {
  sessionsAccepted: number;
  sessionsOpen: number;
  /** Packets that would have started a session, dropped at the session limit or a full accept backlog. */
  sessionsRefused: number;
  streamsAccepted: number;
  streamsOpen: number;
  /** Streams closed because tor could not be reached or refused the ExtORPort handshake. */
  torFailures: number;
  bytesToTor: number;
  bytesFromTor: number;
  /** Packets from clients dropped because the KCP input queue was full. */
  packetsDroppedIncoming: number;
  /** Packets to clients dropped because a client's send queue was full. */
  packetsDroppedOutgoing: number;
}

export function newCarrierCounters(): CarrierCounters {
  return {
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
