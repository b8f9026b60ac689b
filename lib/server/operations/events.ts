/**
 * The server's typed events: how each connection's upgrade and each carrier
 * ended, with the reason. The stats line and Prometheus counters
 * (counters.ts), the log (log_events.ts) and the tests all read these:
 * `server.events.addEventListener("carrierclosed", (e) => e.detail.reason)`.
 */

import type { ArqRetransmits } from "../../kcp/arq.ts";
import { TypedEventTarget } from "../../util/typed_events.ts";

/** Why a TCP/TLS connection did not become a WebSocket. */
export type UpgradeFailure =
  /** Refused at accept: `maxPendingUpgrades` connections were already mid-upgrade. */
  | "pending-limit"
  /** The request was not complete within the upgrade deadline (Go: 10 s). */
  | "timeout"
  /** Not HTTP/1.x, or a head over the size limit: 400 or 431. */
  | "bad-request"
  /** A valid HTTP request that is not a WebSocket upgrade: 400 or 405, as Go's server answers. */
  | "not-websocket"
  /** `maxConnections` WebSockets were open: 503. */
  | "connection-limit"
  /** The client went away before finishing its request. */
  | "abandoned"
  /** A socket or TLS error. */
  | "error";

/** The detail of `upgradefailed`. */
export interface UpgradeFailedDetail {
  /** Why. */
  reason: UpgradeFailure;
  /** The HTTP status answered, if any. */
  status?: number;
  /** What happened, for the log. */
  detail: string;
}

/** What a carrier (one WebSocket) turned out to be. */
export type CarrierMode = "turbotunnel" | "legacy" | "none";

/** Why a carrier ended. */
export type CarrierCloseReason =
  /** The proxy closed it (close frame, or the TCP connection ended). */
  | "peer-closed"
  /** No preamble (token and ClientID) in time. */
  | "no-preamble"
  /** No Turbo Tunnel token, and legacy mode is off. */
  | "legacy-refused"
  /** Malformed or oversized encapsulation. */
  | "encapsulation"
  /** A Turbo Tunnel carrier that brought nothing for the idle timeout. */
  | "idle"
  /** The proxy stopped reading for the write-stall timeout. */
  | "write-stall"
  /** The proxy broke RFC 6455 (unmasked frame, bad opcode, oversized message...). */
  | "protocol-error"
  /** A legacy client's connection to tor could not be made. */
  | "tor-unreachable"
  /** A socket error. */
  | "error"
  /** The server is stopping, or the client's send queue expired. */
  | "server-closed";

/** The detail of `carrieropened`. */
export interface CarrierOpenedDetail {
  /** Whether the proxy reported a usable `client_ip`. */
  withClientIp: boolean;
}

/** The detail of `carriermode`. */
export interface CarrierModeDetail {
  /** Turbo Tunnel (token and ClientID seen) or legacy (a raw stream to tor). */
  mode: Exclude<CarrierMode, "none">;
}

/** The detail of `carrierclosed`. */
export interface CarrierClosedDetail {
  /** What the carrier was ("none" if it ended before its preamble said). */
  mode: CarrierMode;
  /** Why it ended. */
  reason: CarrierCloseReason;
  /** What happened, for the log (e.g. the peer's close code, the encapsulation error). */
  detail: string;
  /** Payload bytes it brought from the proxy. */
  bytesFromClient: number;
  /** Payload bytes it took to the proxy. */
  bytesToClient: number;
}

/** Why a Turbo Tunnel session (KCP + smux) ended. */
export type SessionCloseReason =
  /** No frame from the client for smux's keepalive timeout (4 min, as Go 2.5.1). */
  | "keepalive-timeout"
  /** The KCP session under it ended. */
  | "connection-ended"
  /** The client broke smux (bad version, unknown command, window accounting). */
  | "protocol-error"
  /** Something else failed (the KCP session's conn, stream ids used up). */
  | "error"
  /** The server is stopping. */
  | "server-closed";

/** The detail of `sessionopened`. */
export interface SessionOpenedDetail {
  /** Whether the ClientID→address map had a USERADDR for it. */
  withClientAddr: boolean;
}

/** The detail of `sessionclosed`. */
export interface SessionClosedDetail {
  /** Why it ended. */
  reason: SessionCloseReason;
  /** What happened, for the log. */
  detail: string;
  /** Streams it carried. */
  streams: number;
  /** How long it lived, ms. */
  durationMs: number;
  /** Its KCP's retransmissions, by cause. */
  retransmits: ArqRetransmits;
}

/** The detail of `streamfailed`: a stream whose connection to tor could not be made. */
export interface StreamFailedDetail {
  /** What went wrong (connect error, ExtORPort authentication). */
  detail: string;
}

/**
 * What a KCP instance reports (in this thread or from a Web Worker, as plain
 * data): the session events of {@link ServerEventMap}.
 */
export type TunnelEvent =
  | { type: "sessionopened"; detail: SessionOpenedDetail }
  | { type: "sessionclosed"; detail: SessionClosedDetail }
  | { type: "streamfailed"; detail: StreamFailedDetail };

/** Event names and their details. */
export interface ServerEventMap {
  /** A connection was accepted (or refused at accept: then `upgradefailed` follows). */
  connectionaccepted: CustomEvent<Record<never, never>>;
  /** A connection ended before its WebSocket upgrade. */
  upgradefailed: CustomEvent<UpgradeFailedDetail>;
  /** A WebSocket upgrade succeeded: a carrier starts. */
  carrieropened: CustomEvent<CarrierOpenedDetail>;
  /** A carrier's preamble said what it carries. */
  carriermode: CustomEvent<CarrierModeDetail>;
  /** A carrier ended (every carrier that opened ends with exactly one of these). */
  carrierclosed: CustomEvent<CarrierClosedDetail>;
  /** A KCP session was accepted (an smux server session runs on it). */
  sessionopened: CustomEvent<SessionOpenedDetail>;
  /** A session ended (each one that opened ends with exactly one of these). */
  sessionclosed: CustomEvent<SessionClosedDetail>;
  /** A stream could not reach tor and was closed. */
  streamfailed: CustomEvent<StreamFailedDetail>;
}

/** The server's events; see {@link ServerEventMap}. */
export class ServerEvents extends TypedEventTarget<ServerEventMap> {}
