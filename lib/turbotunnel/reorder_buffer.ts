/**
 * ReorderBuffer: the receive side of MultiplexingPacketConn, between the
 * carriers and KCP. The peer stripes its packets across several carriers
 * whose queues differ in depth, so they arrive out of order, and KCP acks
 * out of order: kcp-go's early retransmit (KCP-SMUX.md §4.6; the bridge's
 * KCP, ours or Go's, has it even with fastresend 0) then resends every
 * segment an ACK skipped, and two slow carriers carry most of the download
 * twice. Here a PUSH packet that arrives ahead of a hole waits, briefly, for
 * the hole to arrive on another carrier; KCP then sees, and acks, the
 * segments in order. KCP delivers to the application in order anyway, so the
 * wait costs only while a hole is really lost.
 *
 * Each carrier brings the peer's first transmissions in sn order (a
 * WebSocket and a data channel are ordered, and the bridge hands a
 * ClientID's packets to its WebSockets in turn from one queue). So a hole
 * cannot arrive in order any more once every live carrier brought something
 * past it: it is given up on at once (the peer's KCP recovers it); else after
 * the wait, which follows the delays with which holes were filled (a decayed
 * maximum, × WAIT_GAIN, within [WAIT_MIN_MS, WAIT_MAX_MS]; a packet arriving
 * late for a hole given up on counts too). A carrier that goes down leaves
 * the set, so its holes are given up on at once.
 *
 * ACKs and window segments never wait: a packet with PUSH and other segments
 * is split, the others going ahead. Packets that are not well-formed KCP, and
 * packets of segments already passed, go straight through (KCP rejects or
 * re-acks them).
 *
 * Verbs: `handleInput(now, input)`, `handleTimeout(now)`, then drain
 * `pollTransmit()` (the next packet for KCP) until null, and wake at
 * `pollTimeout()`. Bounds: MAX_HELD_PACKETS and MAX_HELD_BYTES held; past
 * either, the lowest hole is given up on.
 */

import { Ring } from "../kcp/ring.ts";
import { timediff } from "../kcp/u32.ts";
import { pushRange, splitControl } from "./kcp_packet.ts";

/**
 * Least and most wait for a hole, ms. The most bounds what a lost hole adds to
 * KCP's recovery while its carrier is not yet found dead (a carrier that goes
 * down releases its holes at once); it is high because the bridge fills each
 * WebSocket's TCP buffers, so behind a rate-limited proxy one carrier's
 * packets can trail another's by seconds (at 500 ms, two proxies capped at
 * 1 MB/s still gave up dozens of holes per 12 MB).
 */
export const WAIT_MIN_MS = 20;
export const WAIT_MAX_MS = 3000;
/** The wait: this many times the decayed maximum of the delays that filled holes. */
export const WAIT_GAIN = 1.5;
/** The decayed maximum halves in this long without a larger delay, ms. */
const FILL_DELAY_HALF_LIFE_MS = 10_000;
/** Held at most: a few seconds of several proxies (the bridge's KCP has at most a few MiB in flight). */
export const MAX_HELD_PACKETS = 8192;
export const MAX_HELD_BYTES = 8 * 1024 * 1024;

export type ReorderInput =
  /** Carrier `carrier` is live: it may bring a hole. */
  | { kind: "up"; carrier: number }
  /** `packet` arrived on `carrier`. */
  | { kind: "received"; carrier: number; packet: Uint8Array }
  /** Carrier `carrier` is gone: it brings no hole any more (packets it still delivers are taken). */
  | { kind: "down"; carrier: number };

interface Held {
  first: number;
  last: number;
  packet: Uint8Array;
  at: number;
}

export interface ReorderStats {
  /** PUSH packets that waited for a hole. */
  held: number;
  /** Holes that filled while packets waited behind them. */
  filled: number;
  /** Holes given up on (every carrier past them, the wait over, a carrier down, or the bounds). */
  givenUp: number;
  /** Packets that arrived for a hole already given up on. */
  late: number;
}

export class ReorderBuffer {
  /** Highest PUSH sn each live carrier brought (null: none yet). */
  readonly #carriers = new Map<number, number | null>();
  /** Waiting packets, by first sn, from #heldHead on (no Array.shift: thousands may wait). */
  #held: Held[] = [];
  #heldHead = 0;
  #heldBytes = 0;
  readonly #out = new Ring<Uint8Array>();
  /** The sn KCP needs next. */
  #next: number;
  #fillDelay = 0;
  #fillDelayAt = 0;
  /** The last hole given up on: [from, to) and when the packet behind it arrived. */
  #lastGivenUp: { from: number; to: number; at: number } | null = null;
  readonly #stats: ReorderStats = { held: 0, filled: 0, givenUp: 0, late: 0 };

  /** `firstSn`: the peer's first sn, 0 for a KCP session from its start (KCP's rcv_nxt). */
  constructor(firstSn = 0) {
    this.#next = firstSn >>> 0;
  }

  /** How long a hole is waited for now, ms. */
  wait(now: number): number {
    const delay = this.#decayedFillDelay(now);
    return Math.min(WAIT_MAX_MS, Math.max(WAIT_MIN_MS, WAIT_GAIN * delay));
  }

  /** Packets waiting now. */
  get waiting(): number {
    return this.#held.length - this.#heldHead;
  }

  stats(): ReorderStats {
    return { ...this.#stats };
  }

  handleInput(now: number, input: ReorderInput): void {
    switch (input.kind) {
      case "up":
        if (!this.#carriers.has(input.carrier)) this.#carriers.set(input.carrier, null);
        return;
      case "down":
        this.#carriers.delete(input.carrier);
        this.#advance(now);
        return;
      case "received":
        this.#receive(now, input.carrier, input.packet);
        this.#advance(now);
        return;
    }
  }

  handleTimeout(now: number): void {
    this.#advance(now);
  }

  /** The next packet for KCP, or null. */
  pollTransmit(): Uint8Array | null {
    return this.#out.length > 0 ? this.#out.shift() : null;
  }

  /** When the lowest hole's wait ends; Infinity when nothing waits. */
  pollTimeout(): number {
    const head = this.#held[this.#heldHead];
    return head ? head.at + this.wait(head.at) : Infinity;
  }

  #receive(now: number, carrier: number, packet: Uint8Array): void {
    const range = pushRange(packet);
    if (!range) {
      this.#out.push(packet);
      return;
    }
    if (this.#carriers.has(carrier)) {
      const highest = this.#carriers.get(carrier);
      if (highest === null || highest === undefined || timediff(range.last, highest) > 0) {
        this.#carriers.set(carrier, range.last);
      }
    }
    if (timediff(range.first, this.#next) <= 0) { // in order, or old
      if (timediff(range.last, this.#next) < 0) this.#noteLate(now, range.first);
      else {
        const head = this.#held[this.#heldHead];
        if (head) this.#noteFill(now, now - head.at);
        this.#next = (range.last + 1) >>> 0;
      }
      this.#out.push(packet);
      return;
    }
    const [control, data] = splitControl(packet);
    if (control) this.#out.push(control);
    this.#insert({ first: range.first, last: range.last, packet: data ?? packet, at: now });
    this.#stats.held++;
  }

  /** Releases what is in order, and gives up on holes that cannot arrive in order any more. */
  #advance(now: number): void {
    for (;;) {
      for (
        let h = this.#held[this.#heldHead];
        h && timediff(h.first, this.#next) <= 0;
        h = this.#held[this.#heldHead]
      ) {
        this.#shiftHeld();
        this.#out.push(h.packet);
        if (timediff(h.last, this.#next) >= 0) this.#next = (h.last + 1) >>> 0;
      }
      const head = this.#held[this.#heldHead];
      if (!head) return;
      const over = this.waiting > MAX_HELD_PACKETS || this.#heldBytes > MAX_HELD_BYTES;
      if (!over && now < head.at + this.wait(head.at) && !this.#allPast(this.#next)) return;
      this.#lastGivenUp = { from: this.#next, to: head.first, at: head.at };
      this.#stats.givenUp++;
      this.#next = head.first;
    }
  }

  /** Whether every live carrier brought an sn at or past `sn` (so none brings `sn` in order any more). */
  #allPast(sn: number): boolean {
    for (const highest of this.#carriers.values()) {
      if (highest === null || timediff(highest, sn) < 0) return false;
    }
    return true;
  }

  #shiftHeld(): void {
    this.#heldBytes -= this.#held[this.#heldHead].packet.length;
    this.#heldHead++;
    if (this.#heldHead === this.#held.length) {
      this.#held = [];
      this.#heldHead = 0;
    } else if (this.#heldHead >= 1024 && this.#heldHead * 2 >= this.#held.length) {
      this.#held = this.#held.slice(this.#heldHead);
      this.#heldHead = 0;
    }
  }

  #insert(h: Held): void {
    let lo = this.#heldHead;
    let hi = this.#held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (timediff(this.#held[mid].first, h.first) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.#held.splice(lo, 0, h);
    this.#heldBytes += h.packet.length;
  }

  #noteFill(now: number, delay: number): void {
    this.#stats.filled++;
    this.#sample(now, delay);
  }

  #noteLate(now: number, sn: number): void {
    const g = this.#lastGivenUp;
    if (!g || timediff(sn, g.from) < 0 || timediff(sn, g.to) >= 0) return;
    this.#stats.late++;
    this.#sample(now, now - g.at);
  }

  #sample(now: number, delay: number): void {
    const decayed = this.#decayedFillDelay(now);
    if (delay >= decayed) {
      this.#fillDelay = delay;
      this.#fillDelayAt = now;
    }
  }

  #decayedFillDelay(now: number): number {
    const age = Math.max(0, now - this.#fillDelayAt);
    return this.#fillDelay * Math.pow(2, -age / FILL_DELAY_HALF_LIFE_MS);
  }
}
