/**
 * Clocks. Protocol state machines never read the time themselves: adapters read a
 * {@link Clock} once per wake-up and pass `now` (milliseconds) down, so tests can
 * drive a machine with a fake clock.
 */

/** A source of monotonic milliseconds. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never decreases. */
  now(): number;
}

/** Milliseconds since this process started, from `performance.now()` (monotonic). */
export const systemClock: Clock = { now: () => performance.now() };

/** A clock that only moves when told to: for tests and simulations. */
export class ManualClock implements Clock {
  #now: number;
  /** `start`: the first reading, in ms. */
  constructor(start = 0) {
    this.#now = start;
  }
  /** The current reading, in ms. */
  now(): number {
    return this.#now;
  }
  /** Moves the clock forward by `ms` (never backwards). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`ManualClock cannot go back (${ms} ms)`);
    this.#now += ms;
  }
  /** Moves the clock to `ms` if that is later than now. */
  set(ms: number): void {
    if (ms > this.#now) this.#now = ms;
  }
}

/** Where an adapter arms its timer: the runtime's by default, a fake one in tests (to drive and count them). */
export interface Timers<Id = unknown> {
  /** Runs `callback` once, `delayMs` from now; returns what {@link clearTimeout} takes. */
  setTimeout(callback: () => void, delayMs: number): Id;
  /** Cancels a timer not yet run. */
  clearTimeout(id: Id): void;
}

/** The runtime's setTimeout and clearTimeout. */
export const systemTimers: Timers<ReturnType<typeof setTimeout>> = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (id) => clearTimeout(id),
};
