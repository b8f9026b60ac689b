/**
 * Deadlines for many connections without a timer each: a connection registers
 * an entry with a deadline and pushes it later as it makes progress; one
 * periodic `sweep(now)` (the server runs it every second) expires the entries
 * whose deadline has passed. Used for the WebSocket preamble deadline and the
 * idle timeout of Turbo Tunnel carriers. Sans-I/O: the caller passes `now`.
 */

export interface Deadline {
  /** When this entry expires, ms on the sweeper's clock. */
  at: number;
  /** Called once, by `sweep`, when `at` has passed. */
  onExpire: () => void;
}

export class DeadlineSweeper {
  readonly #entries = new Set<Deadline>();

  get size(): number {
    return this.#entries.size;
  }

  /** Starts watching `entry`; move `entry.at` to extend it. */
  add(entry: Deadline): Deadline {
    this.#entries.add(entry);
    return entry;
  }

  /** Stops watching `entry` (idempotent). */
  remove(entry: Deadline): void {
    this.#entries.delete(entry);
  }

  /** Expires every entry whose deadline ≤ `now`; returns how many. */
  sweep(now: number): number {
    let expired = 0;
    for (const entry of this.#entries) {
      if (entry.at > now) continue;
      this.#entries.delete(entry);
      expired++;
      entry.onExpire();
    }
    return expired;
  }
}
