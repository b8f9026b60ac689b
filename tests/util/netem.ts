/**
 * A seeded, sans-I/O lossy network for tests (after str0m's netem): no sockets,
 * no timers, no sleeping. A {@link Netem} is one direction of a link: `send`
 * schedules a packet for delivery at a simulated time, after random loss
 * (independent, and bursty by a two-state Gilbert model), duplication,
 * reordering (extra delay for some packets), a bottleneck rate, latency with
 * jitter, and a queue bound (tail drop). A {@link Simulation} joins two {@link SimPeer}s with two
 * Netems and `progress()` runs the earliest pending event: a packet arriving or
 * a peer's timeout. Everything follows from the seed.
 */

import { Prng } from "../support/random.ts";

export { Prng };

export interface NetemOptions {
  seed: number;
  /** Probability each packet is lost on its own. */
  loss?: number;
  /** Bursty loss (Gilbert model): per packet, the chance to enter the lossy state, and to leave it. */
  burst?: { enter: number; leave: number };
  /** Probability a packet is delivered twice (the copy gets its own delay). */
  duplicate?: number;
  /** Probability a packet is held back by `reorderDelayMs` extra, so later ones overtake it. */
  reorder?: number;
  reorderDelayMs?: number;
  /** One-way delay in ms, plus uniform jitter in [0, jitterMs). */
  latencyMs?: number;
  jitterMs?: number;
  /** Bottleneck rate in bytes per ms: packets leave one after another (serialization delay). Default: unlimited. */
  bytesPerMs?: number;
  /** Packets in flight at most; more are dropped (a router's tail drop). Default 10 000. */
  capacity?: number;
}

export interface NetemStats {
  sent: number;
  lost: number;
  duplicated: number;
  reordered: number;
  delivered: number;
}

/** One direction of a simulated link. */
export class Netem {
  readonly stats: NetemStats = { sent: 0, lost: 0, duplicated: 0, reordered: 0, delivered: 0 };
  readonly #options: NetemOptions;
  readonly #random: Prng;
  #inBurst = false;
  /** When the bottleneck finishes sending what it has. */
  #busyUntil = -Infinity;
  /** Min-heap of pending deliveries by (time, order). */
  #heap: { at: number; order: number; packet: Uint8Array }[] = [];
  #order = 0;

  constructor(options: NetemOptions) {
    this.#options = options;
    this.#random = new Prng(options.seed);
  }

  /** Packets in flight. */
  get inFlight(): number {
    return this.#heap.length;
  }

  /** Time of the next delivery, or Infinity. */
  nextDelivery(): number {
    return this.#heap.length > 0 ? this.#heap[0].at : Infinity;
  }

  /** Puts `packet` on the link at `now` (it is not copied: senders must not reuse it). */
  send(packet: Uint8Array, now: number): void {
    const o = this.#options;
    const random = this.#random;
    this.stats.sent++;
    if (o.burst) {
      this.#inBurst = this.#inBurst ? random.next() >= o.burst.leave : random.next() < o.burst.enter;
    }
    if (this.#inBurst || random.next() < (o.loss ?? 0)) {
      this.stats.lost++;
      return;
    }
    this.#schedule(packet, now);
    if (random.next() < (o.duplicate ?? 0)) {
      this.stats.duplicated++;
      this.#schedule(packet, now);
    }
  }

  /** Removes and returns the next packet due at or before `now`, or null. */
  receive(now: number): Uint8Array | null {
    if (this.#heap.length === 0 || this.#heap[0].at > now) return null;
    this.stats.delivered++;
    return this.#pop().packet;
  }

  #schedule(packet: Uint8Array, now: number): void {
    const o = this.#options;
    if (this.#heap.length >= (o.capacity ?? 10_000)) {
      this.stats.lost++;
      return;
    }
    let departure = now;
    if (o.bytesPerMs) {
      departure = Math.max(now, this.#busyUntil) + packet.length / o.bytesPerMs;
      this.#busyUntil = departure;
    }
    let at = departure + (o.latencyMs ?? 0) + this.#random.next() * (o.jitterMs ?? 0);
    if (this.#random.next() < (o.reorder ?? 0)) {
      this.stats.reordered++;
      at += o.reorderDelayMs ?? 0;
    }
    this.#push({ at, order: this.#order++, packet });
  }

  #push(item: { at: number; order: number; packet: Uint8Array }): void {
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): { at: number; order: number; packet: Uint8Array } {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: { at: number; order: number }, b: { at: number; order: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}

/** A sans-I/O endpoint the simulation drives. It sends by calling `send` of the Netem it was given. */
export interface SimPeer {
  /** When it next wants {@link handleTimeout}; Infinity when nothing is pending. */
  pollTimeout(): number;
  handleTimeout(now: number): void;
  handleInput(packet: Uint8Array, now: number): void;
}

/** Two peers joined by two Netems (`aToB` carries a's packets to b). */
export class Simulation {
  now: number;
  constructor(
    readonly a: SimPeer,
    readonly b: SimPeer,
    readonly aToB: Netem,
    readonly bToA: Netem,
    start = 0,
  ) {
    this.now = start;
  }

  /**
   * Advances the clock to the earliest pending event (a delivery on either link,
   * or either peer's timeout) and runs everything due then. Returns the new time,
   * or Infinity when nothing is pending (the clock stays put).
   */
  progress(): number {
    const next = Math.min(
      this.a.pollTimeout(),
      this.b.pollTimeout(),
      this.aToB.nextDelivery(),
      this.bToA.nextDelivery(),
    );
    if (next === Infinity) return Infinity;
    if (next > this.now) this.now = next;
    const now = this.now;
    for (let packet; (packet = this.aToB.receive(now)) !== null;) this.b.handleInput(packet, now);
    for (let packet; (packet = this.bToA.receive(now)) !== null;) this.a.handleInput(packet, now);
    if (this.a.pollTimeout() <= now) this.a.handleTimeout(now);
    if (this.b.pollTimeout() <= now) this.b.handleTimeout(now);
    return now;
  }
}
