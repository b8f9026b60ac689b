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
  | "bad-input" // the proxy sent bytes that are not encapsulated packets
  | "read-overflow" // the proxy sent more than we buffer unread
  | "send-failed" // the data channel refused a message
  | "stale-spare" // a spare waited longer than SPARE_MAX_AGE_MS and was replaced
  | "closed"; // closed locally (session ended, client stopping)

/** "sessionopened": a SOCKS connection got its virtual session (ClientID, KCP, smux stream). */
export interface SessionOpenedDetail {
  /** The session's ClientID in hex. */
  sessionId: string;
}

/** "sessionclosed": the session ended (either side closed, or the client stopped). */
export interface SessionClosedDetail {
  sessionId: string;
  /** Bytes from tor into the session, and from the session to tor. */
  bytesUp: number;
  bytesDown: number;
}

/** "proxyconnected": a proxy's data channel opened after `rendezvousMs` of collecting (carrying or spare). */
export interface ProxyConnectedDetail {
  sessionId: string;
  proxyId: string;
  rendezvousMs: number;
}

/** "carrierup": a proxy now carries the session's packets (token and ClientID sent). */
export interface CarrierUpDetail {
  sessionId: string;
  proxyId: string;
}

/** "proxylost": a proxy was dropped, with why; `carrying` if it carried the session (else it was a spare). */
export interface ProxyLostDetail {
  sessionId: string;
  proxyId: string;
  reason: ProxyLostReason;
  carrying: boolean;
}

/** "rendezvousfailed": one attempt to get a proxy failed (broker error, bad answer, ICE or open timeout). */
export interface RendezvousFailedDetail {
  sessionId: string;
  error: Error;
  /** When the next attempt starts, ms from now. */
  retryInMs: number;
}

/** "socksrejected": a SOCKS request was refused or malformed; `reason` says what was wrong. */
export interface SocksRejectedDetail {
  reason: string;
}

export interface ClientEventMap {
  sessionopened: CustomEvent<SessionOpenedDetail>;
  sessionclosed: CustomEvent<SessionClosedDetail>;
  proxyconnected: CustomEvent<ProxyConnectedDetail>;
  carrierup: CustomEvent<CarrierUpDetail>;
  proxylost: CustomEvent<ProxyLostDetail>;
  rendezvousfailed: CustomEvent<RendezvousFailedDetail>;
  socksrejected: CustomEvent<SocksRejectedDetail>;
}

/** The client's event target: `client.events.addEventListener("proxylost", (e) => e.detail.reason)`. */
export class ClientEvents extends TypedEventTarget<ClientEventMap> {}
