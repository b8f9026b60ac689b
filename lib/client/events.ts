/**
 * The client's typed events: what logs, stats and tests read (a test never
 * waits for a log line). Dispatched on the handle's `events` target.
 */

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
export class SessionOpenedEvent extends Event {
  constructor(readonly sessionId: string) {
    super("sessionopened");
  }
}

/** "sessionclosed": the session ended; `error` says why if it was not an orderly end. */
export class SessionClosedEvent extends Event {
  constructor(readonly sessionId: string, readonly bytesUp: number, readonly bytesDown: number) {
    super("sessionclosed");
  }
}

/** "proxyconnected": a proxy's data channel opened (`spare`: kept ready, not yet carrying). */
export class ProxyConnectedEvent extends Event {
  constructor(readonly sessionId: string, readonly proxyId: string, readonly rendezvousMs: number) {
    super("proxyconnected");
  }
}

/** "carrierup": a proxy now carries the session's packets (token and ClientID sent). */
export class CarrierUpEvent extends Event {
  constructor(readonly sessionId: string, readonly proxyId: string) {
    super("carrierup");
  }
}

/** "proxylost": a proxy was dropped, with why; the next one is already being fetched. */
export class ProxyLostEvent extends Event {
  constructor(
    readonly sessionId: string,
    readonly proxyId: string,
    readonly reason: ProxyLostReason,
    readonly carrying: boolean,
  ) {
    super("proxylost");
  }
}

/** "rendezvousfailed": one attempt to get a proxy failed (broker error, bad answer, ICE or open timeout). */
export class RendezvousFailedEvent extends Event {
  constructor(readonly sessionId: string, readonly error: Error) {
    super("rendezvousfailed");
  }
}

/** "socksrejected": a SOCKS request was refused or malformed; `reason` is what was wrong. */
export class SocksRejectedEvent extends Event {
  constructor(readonly reason: string) {
    super("socksrejected");
  }
}

export interface ClientEventMap {
  sessionopened: SessionOpenedEvent;
  sessionclosed: SessionClosedEvent;
  proxyconnected: ProxyConnectedEvent;
  carrierup: CarrierUpEvent;
  proxylost: ProxyLostEvent;
  rendezvousfailed: RendezvousFailedEvent;
  socksrejected: SocksRejectedEvent;
}

/** An EventTarget whose addEventListener knows {@link ClientEventMap}. */
export class ClientEvents extends EventTarget {
  override addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: ((event: ClientEventMap[K]) => void) | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }
}
