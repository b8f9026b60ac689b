/**
 * The two keepalive tickers of an smux session, as plain deadlines (no timers):
 * a ping tick every KeepAliveInterval (send a NOP, whatever other traffic there
 * is) and a timeout tick every KeepAliveTimeout (close the session when no frame
 * arrived since the previous timeout tick). See KCP-SMUX.md §8.9. Like Go's
 * time.Ticker, ticks missed while the process was asleep are dropped, not
 * replayed.
 */

export class KeepaliveTicks {
  #nextPing: number;
  #nextTimeout: number;
  #dataArrived = false;

  constructor(readonly intervalMs: number, readonly timeoutMs: number, now: number) {
    this.#nextPing = now + intervalMs;
    this.#nextTimeout = now + timeoutMs;
  }

  /** The earliest time a tick is due. */
  get deadline(): number {
    return Math.min(this.#nextPing, this.#nextTimeout);
  }

  /** Records that the peer sent something (Go's `dataReady`). */
  markDataArrived(): void {
    this.#dataArrived = true;
  }

  /** True when a ping tick is due at `now`; moves to the next tick. */
  takePing(now: number): boolean {
    if (now < this.#nextPing) return false;
    this.#nextPing = nextTick(this.#nextPing, this.intervalMs, now);
    return true;
  }

  /** True when a timeout tick is due at `now` and nothing arrived since the last one; moves to the next tick. */
  takeIdleTimeout(now: number): boolean {
    if (now < this.#nextTimeout) return false;
    this.#nextTimeout = nextTick(this.#nextTimeout, this.timeoutMs, now);
    const idle = !this.#dataArrived;
    this.#dataArrived = false;
    return idle;
  }
}

/** The first tick of the series `due + k·period` that is after `now`. */
function nextTick(due: number, period: number, now: number): number {
  return due + period * (Math.floor((now - due) / period) + 1);
}
