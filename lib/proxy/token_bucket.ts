/**
 * The optional bandwidth cap (`-bandwidth-cap`, ours): one token bucket shared
 * by every client and both directions, in bytes per second. Sans-I/O: the
 * caller passes `now` (ms). A send is allowed while the bucket is not in
 * debt, and then takes its whole size (so a message is never split for the
 * cap); the debt says how long the next sender waits. The burst is one
 * second's worth, so an idle proxy does not save up more than that.
 */

export class TokenBucket {
  readonly #bytesPerMs: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  /** `bytesPerSecond` > 0. */
  constructor(bytesPerSecond: number, now: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bandwidth cap ${bytesPerSecond} B/s is not > 0`);
    this.#bytesPerMs = bytesPerSecond / 1000;
    this.#burst = bytesPerSecond;
    this.#tokens = this.#burst;
    this.#updatedAt = now;
  }

  /** 0 if `bytes` may go now (and takes them), else how many ms until a send may go. */
  take(now: number, bytes: number): number {
    this.#refill(now);
    if (this.#tokens < 0) return Math.ceil(-this.#tokens / this.#bytesPerMs);
    this.#tokens -= bytes;
    return 0;
  }

  #refill(now: number): void {
    if (now > this.#updatedAt) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#bytesPerMs);
      this.#updatedAt = now;
    }
  }
}
