/**
 * The I/O adapter around {@link Matcher}: turns its events into settled
 * promises for the HTTP handlers, owns the one timer that drives its
 * deadlines, and cancels a waiting party whose request is aborted (a proxy or
 * client that disconnects leaves the pools at once, so no client is handed a
 * proxy that is gone and no answer is kept for a client that is gone).
 */

import { type Clock, systemClock } from "../util/clock.ts";
import { type ClientOffer, Matcher, type MatcherOptions, type ProxyPoll } from "./matcher.ts";

export type ProxyPollOutcome =
  | { kind: "matched"; offer: ClientOffer }
  | { kind: "no-match" }
  | { kind: "over-capacity" }
  | { kind: "sid-in-use" }
  | { kind: "cancelled" };

export type ClientOfferOutcome =
  | { kind: "answered"; answer: string }
  | { kind: "no-proxy" }
  | { kind: "timed-out" }
  | { kind: "over-capacity" }
  | { kind: "cancelled" };

/** Timers fire at most this much after a deadline; expiries that close together share one wake-up. */
const TIMER_SLACK_MS = 1;

export class Rendezvous {
  readonly matcher: Matcher;
  readonly #clock: Clock;
  readonly #proxyWaiters = new Map<number, Waiter<ProxyPollOutcome>>();
  readonly #clientWaiters = new Map<number, Waiter<ClientOfferOutcome>>();
  readonly #cancelProxy = (id: number) => this.matcher.cancelProxy(id);
  readonly #cancelClient = (id: number) => this.matcher.cancelClient(id);
  readonly #drainBound = () => this.#drain();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt: number | undefined;
  #closed = false;

  constructor(options: MatcherOptions = {}, clock: Clock = systemClock) {
    this.matcher = new Matcher(options);
    this.#clock = clock;
  }

  /** Holds a proxy's poll until a client is matched, the proxy timeout passes, or `signal` aborts. */
  proxyPoll(poll: ProxyPoll, signal?: AbortSignal): Promise<ProxyPollOutcome> {
    if (this.#closed || signal?.aborted) return Promise.resolve({ kind: "cancelled" });
    const id = this.matcher.addProxy(poll, this.#clock.now());
    if (typeof id !== "number") {
      this.#drain();
      return Promise.resolve(id === "over-capacity" ? { kind: "over-capacity" } : { kind: "sid-in-use" });
    }
    return this.#wait(id, this.#proxyWaiters, this.#cancelProxy, signal);
  }

  /** Gives a client's offer to a proxy and waits for its answer, the client timeout, or `signal`. */
  clientOffer(offer: ClientOffer, signal?: AbortSignal): Promise<ClientOfferOutcome> {
    if (this.#closed || signal?.aborted) return Promise.resolve({ kind: "cancelled" });
    const id = this.matcher.addClient(offer, this.#clock.now());
    if (typeof id !== "number") {
      return Promise.resolve(id === "no-proxy" ? { kind: "no-proxy" } : { kind: "over-capacity" });
    }
    return this.#wait(id, this.#clientWaiters, this.#cancelClient, signal);
  }

  /** Registers a waiter for matcher entry `id`; an abort cancels the entry and settles "cancelled". */
  #wait<T extends { kind: string }>(
    id: number,
    waiters: Map<number, Waiter<T>>,
    cancel: (id: number) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    const { promise, resolve } = Promise.withResolvers<T>();
    const waiter = new Waiter(id, resolve, waiters, cancel, signal, this.#drainBound);
    signal?.addEventListener("abort", waiter, { once: true });
    waiters.set(id, waiter);
    this.#drain();
    return promise;
  }

  /** A proxy's answer; false means no client waits for it ("client gone"). */
  answer(sid: string, answer: string): boolean {
    const delivered = this.matcher.answer(sid, answer);
    this.#drain();
    return delivered;
  }

  /** Releases every waiting poll (no match) and client (timed out), and stops the timer. */
  close(): void {
    this.#closed = true;
    this.matcher.close();
    this.#drain();
  }

  /** Settles the promises of every queued event, then re-arms the timer. */
  #drain(): void {
    for (let event = this.matcher.pollEvent(); event; event = this.matcher.pollEvent()) {
      switch (event.type) {
        case "proxy-matched":
          this.#settleProxy(event.proxy, { kind: "matched", offer: event.offer });
          break;
        case "proxy-released":
          this.#settleProxy(event.proxy, { kind: "no-match" });
          break;
        case "client-answered":
          this.#settleClient(event.client, { kind: "answered", answer: event.answer });
          break;
        case "client-expired":
          this.#settleClient(event.client, { kind: "timed-out" });
          break;
      }
    }
    this.#arm();
  }

  #settleProxy(id: number, outcome: ProxyPollOutcome): void {
    settle(this.#proxyWaiters, id, outcome);
  }

  #settleClient(id: number, outcome: ClientOfferOutcome): void {
    settle(this.#clientWaiters, id, outcome);
  }

  #arm(): void {
    const next = this.#closed ? undefined : this.matcher.pollTimeout();
    if (next === undefined) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = this.#timerAt = undefined;
      return;
    }
    if (this.#timerAt !== undefined && this.#timerAt <= next) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(() => {
      this.#timer = this.#timerAt = undefined;
      this.matcher.handleTimeout(this.#clock.now());
      this.#drain();
    }, Math.max(0, next - this.#clock.now()) + TIMER_SLACK_MS);
  }
}

function settle<T>(waiters: Map<number, Waiter<T>>, id: number, outcome: T): void {
  const waiter = waiters.get(id);
  waiters.delete(id);
  waiter?.settle(outcome);
}

/**
 * One held poll or offer: its promise's resolver, and the listener for its
 * request's abort. An object rather than closures: thousands are held at once
 * (the per-poll part of the broker's memory).
 */
class Waiter<T> {
  constructor(
    readonly id: number,
    readonly resolve: (outcome: T) => void,
    readonly waiters: Map<number, Waiter<T>>,
    readonly cancel: (id: number) => void,
    readonly signal: AbortSignal | undefined,
    readonly drain: () => void,
  ) {}

  settle(outcome: T): void {
    this.signal?.removeEventListener("abort", this);
    this.resolve(outcome);
  }

  /** The request was aborted: leave the matcher and settle "cancelled". */
  handleEvent(): void {
    if (!this.waiters.delete(this.id)) return;
    this.cancel(this.id);
    this.resolve({ kind: "cancelled" } as T);
    this.drain();
  }
}
