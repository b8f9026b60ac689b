/**
 * The client's typed events: what logs, stats and tests read (a test never
 * waits for a log line). Dispatched on the handle's `events` target.
 */

import { TypedEventTarget } from "../util/typed_events.ts";

/** Why a proxy stopped carrying a session (or a spare was let go). */
export type ProxyLostReason =
  | "data-channel-closed" // the proxy (or its bridge WebSocket) closed the channel
  | "ice-disconnected" // ICE reported the path disconnected
  | "ice-failed" // ICE reported the path failed, or the peer connection closed
  | "silent" // we sent and heard nothing back for CARRIER_SILENCE_MS
  | "idle" // nothing received for CARRIER_IDLE_MS (Go's rule)
  | "undelivered" // nothing it carried was delivered for a few RTTs while the session's other proxies delivered
  | "bad-input" // the proxy sent bytes that are not encapsulated packets
  | "read-overflow" // the proxy sent more than we buffer unread
  | "send-failed" // the data channel refused a message
  | "stale-spare" // a spare waited longer than SPARE_MAX_AGE_MS and was replaced
  | "closed"; // closed locally (session ended, client stopping)

/** "sessionopened": a SOCKS connection got its virtual session (ClientID, KCP, smux stream). */
export interface ClientSessionOpenedDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
}

/** "sessionclosed": the session ended (either side closed, or the client stopped). */
export interface ClientSessionClosedDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
  /** Bytes from tor into the session. */
  bytesUp: number;
  /** Bytes from the session to tor. */
  bytesDown: number;
}

/** "proxyconnected": a proxy's data channel opened after `rendezvousMs` of collecting (carrying or spare). */
export interface ProxyConnectedDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
  /** The data channel's label, `snowflake-<16 hex>`. */
  proxyId: string;
  /** From the start of the rendezvous to the channel's open. */
  rendezvousMs: number;
}

/** "carrierup": a proxy now carries the session's packets (token and ClientID sent). */
export interface CarrierUpDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
  /** The data channel's label. */
  proxyId: string;
}

/** "proxylost": a proxy was dropped, with why; `carrying` if it carried the session (else it was a spare). */
export interface ProxyLostDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
  /** The data channel's label. */
  proxyId: string;
  /** How the loss was noticed. */
  reason: ProxyLostReason;
  /** True if it carried the session; false for a spare. */
  carrying: boolean;
}

/** "rendezvousfailed": one attempt to get a proxy failed (broker error, bad answer, ICE or open timeout). */
export interface RendezvousFailedDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
  /** What failed (a RendezvousError from the broker, a ProxyPeerError from WebRTC, …). */
  error: Error;
  /** When the next attempt starts, ms from now. */
  retryInMs: number;
}

/** "socksrejected": a SOCKS request was refused or malformed; `reason` says what was wrong. */
export interface SocksRejectedDetail {
  /** What was wrong with the request. */
  reason: string;
}

/** The client's events by name. */
export interface ClientEventMap {
  /** See {@link ClientSessionOpenedDetail}. */
  sessionopened: CustomEvent<ClientSessionOpenedDetail>;
  /** See {@link ClientSessionClosedDetail}. */
  sessionclosed: CustomEvent<ClientSessionClosedDetail>;
  /** See {@link ProxyConnectedDetail}. */
  proxyconnected: CustomEvent<ProxyConnectedDetail>;
  /** See {@link CarrierUpDetail}. */
  carrierup: CustomEvent<CarrierUpDetail>;
  /** See {@link ProxyLostDetail}. */
  proxylost: CustomEvent<ProxyLostDetail>;
  /** See {@link RendezvousFailedDetail}. */
  rendezvousfailed: CustomEvent<RendezvousFailedDetail>;
  /** See {@link SocksRejectedDetail}. */
  socksrejected: CustomEvent<SocksRejectedDetail>;
}

/** The client's event target: `client.events.addEventListener("proxylost", (e) => e.detail.reason)`. */
export class ClientEvents extends TypedEventTarget<ClientEventMap> {}
