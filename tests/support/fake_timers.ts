/**
 * Fake timers on a {@link ManualClock}, for driving adapters (KcpSession, …)
 * without waiting: each owner gets its own {@link Timers} view, so a test can
 * see how many timers each has armed; `fireNext()` moves the clock to the
 * earliest armed timer of any view and runs it. Time moves only when told.
 */

import { ManualClock, type Timers } from "../../lib/util/clock.ts";

interface Armed {
  at: number;
  seq: number;
  callback: () => void;
  view: FakeTimerView;
}

/** One owner's timers: what the owner is given as its `timers`. */
export class FakeTimerView implements Timers<number> {
  /** Timers armed now, and the most ever armed at once. */
  armed = 0;
  maxArmed = 0;
  constructor(readonly host: FakeTimerHost, readonly name: string) {}
  setTimeout(callback: () => void, delayMs: number): number {
    this.armed++;
    this.maxArmed = Math.max(this.maxArmed, this.armed);
    return this.host.arm(this, callback, Math.max(0, delayMs));
  }
  clearTimeout(id: number): void {
    if (this.host.disarm(id)) this.armed--;
  }
}

export class FakeTimerHost {
  readonly clock: ManualClock;
  readonly #armed = new Map<number, Armed>();
  #nextId = 1;
  #seq = 0;

  constructor(start = 0) {
    this.clock = new ManualClock(start);
  }

  view(name: string): FakeTimerView {
    return new FakeTimerView(this, name);
  }

  arm(view: FakeTimerView, callback: () => void, delayMs: number): number {
    const id = this.#nextId++;
    this.#armed.set(id, { at: this.clock.now() + delayMs, seq: this.#seq++, callback, view });
    return id;
  }

  disarm(id: number): boolean {
    return this.#armed.delete(id);
  }

  /** When the earliest armed timer fires; Infinity when none is armed. */
  get next(): number {
    let next = Infinity;
    for (const armed of this.#armed.values()) next = Math.min(next, armed.at);
    return next;
  }

  /** Moves the clock to the earliest timer (never back) and runs it; false when none is armed. */
  fireNext(): boolean {
    let first: [number, Armed] | undefined;
    for (const entry of this.#armed) {
      const [, armed] = entry;
      if (
        first === undefined || armed.at < first[1].at ||
        (armed.at === first[1].at && armed.seq < first[1].seq)
      ) {
        first = entry;
      }
    }
    if (first === undefined) return false;
    const [id, armed] = first;
    this.#armed.delete(id);
    armed.view.armed--;
    this.clock.set(armed.at);
    armed.callback();
    return true;
  }
}

/** Lets every pending promise callback run (one macrotask turn of the real event loop). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
