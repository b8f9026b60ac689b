/**
 * Dead-proxy detection for one carrier, as a sans-I/O rule (no timers, no
 * clock reads: the carrier passes `now` in and arms one timer for
 * {@link CarrierLiveness.pollTimeout}).
 *
 * Go's client 2.5.1 drops a proxy only after 20 s without a received message
 * (`SnowflakeTimeout`), which is most of its ~24 s stall when a proxy dies. Ours
 * adds a tighter rule that cannot fire on a live but idle carrier: KCP answers
 * every data packet with an ACK, so once we have sent something, silence from
 * the peer for `silenceMs` means the path is gone. Both rules:
 * - "silent": something was sent and nothing has been received for
 *   `silenceMs` since the first such send;
 * - "idle": nothing received at all for `idleMs` (Go's rule; smux keepalives
 *   from the bridge arrive every 10 s on a live carrier).
 *
 * With several carriers at once (the session's multiplexer) the peer answers
 * on whichever of its WebSockets is free, so an ACK for a packet sent on one
 * carrier may come back on another: a packet received on any carrier of the
 * session ({@link CarrierLiveness.handleSiblingReceive}) counts as an answer
 * here too. Both rules then find the case where every carrier is dead at once;
 * one carrier dead among live ones ("nothing delivered for a few RTTs while
 * others deliver") is the multiplexer's own loss rule (multipath_scheduler.ts,
 * which sees which carrier each acknowledged segment went out on), reported as
 * "undelivered". The channel closing and ICE failing are watched by
 * proxy_peer.ts. Whichever fires first drops the carrier at once.
 *
 * After any `handle*` call, read {@link CarrierLiveness.verdict}.
 */

/** Sent-but-unanswered time after which a carrier is dead, ms (ours; a live path ACKs within an RTT). */
export const CARRIER_SILENCE_MS = 4_000;
/** Time without any received packet after which a carrier is dead, ms (Go's SnowflakeTimeout). */
export const CARRIER_IDLE_MS = 20_000;

export type LivenessVerdict = "silent" | "idle";

/** The dead-proxy rule's times (see the module doc). */
export interface LivenessConfig {
  /** Sent-but-unanswered time after which a carrier is "silent"; default {@link CARRIER_SILENCE_MS}. */
  silenceMs: number;
  /** Time without any input after which a carrier is "idle"; default {@link CARRIER_IDLE_MS}. */
  idleMs: number;
}

export class CarrierLiveness {
  readonly config: LivenessConfig;
  #lastReceiveAt: number;
  #unansweredSince: number | null = null;
  #verdict: LivenessVerdict | null = null;

  constructor(now: number, config: Partial<LivenessConfig> = {}) {
    this.config = {
      silenceMs: config.silenceMs ?? CARRIER_SILENCE_MS,
      idleMs: config.idleMs ?? CARRIER_IDLE_MS,
    };
    this.#lastReceiveAt = now;
  }

  /** We handed a packet to the carrier. */
  handleSend(now: number): void {
    if (this.#unansweredSince === null) this.#unansweredSince = now;
    this.handleTimeout(now);
  }

  /** A packet arrived from the carrier. */
  handleReceive(now: number): void {
    if (this.#verdict !== null) return;
    this.#lastReceiveAt = now;
    this.#unansweredSince = null;
  }

  /** A packet arrived on another carrier of the same session: the bridge hears us, whichever way it answers. */
  handleSiblingReceive(now: number): void {
    this.handleReceive(now);
  }

  /** Checks both rules at `now`; a verdict, once given, stays. */
  handleTimeout(now: number): void {
    if (this.#verdict !== null) return;
    if (this.#unansweredSince !== null && now - this.#unansweredSince >= this.config.silenceMs) {
      this.#verdict = "silent";
    } else if (now - this.#lastReceiveAt >= this.config.idleMs) {
      this.#verdict = "idle";
    }
  }

  /** Why the carrier is dead, or null while it is alive. */
  get verdict(): LivenessVerdict | null {
    return this.#verdict;
  }

  /** When a rule could next fire (same clock as `now`); Infinity once a verdict is given. */
  pollTimeout(): number {
    if (this.#verdict !== null) return Infinity;
    const idleAt = this.#lastReceiveAt + this.config.idleMs;
    if (this.#unansweredSince === null) return idleAt;
    return Math.min(idleAt, this.#unansweredSince + this.config.silenceMs);
  }
}
