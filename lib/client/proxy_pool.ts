/**
 * The proxies of one session (Go's `Peers` and `connectLoop`): up to `max`
 * proxies at a time, counting the ones carrying and the spares kept ready.
 * Whenever there are fewer, the missing ones are collected at once, side by
 * side (Go collects one at a time and waits 10 s between collections, part of
 * its ~24 s stall), so a lost proxy is replaced right away, in the background:
 * the session's other carriers never wait for a rendezvous, and a broker slow
 * to answer one collection does not hold back another. The session's
 * multiplexer (carrier_set.ts) pops up to `max` of them to carry at once; a
 * proxy popped and not yet carrying is a spare.
 *
 * A failed collection (no proxies, broker error, bad answer, ICE or open
 * timeout) is retried after a delay that doubles from
 * {@link COLLECT_RETRY_MIN_MS} to {@link COLLECT_RETRY_MAX_MS}, reset by a
 * success. A spare that waited longer than {@link SPARE_MAX_AGE_MS} is
 * replaced: proxies drop data channels that carried nothing for 30 s.
 *
 * Bounds: at most `max` proxies held or being collected (more only while a
 * pop waits for a proxy whose predecessor is closing), a single retry timer.
 */

import type { Clock } from "../util/clock.ts";
import { systemClock } from "../util/clock.ts";
import type { ProxyLostReason } from "./events.ts";
import type { ProxyPeer } from "./proxy_peer.ts";

export const COLLECT_RETRY_MIN_MS = 1_000;
export const COLLECT_RETRY_MAX_MS = 10_000; // Go's ReconnectTimeout
/** A spare older than this is replaced, ms (Go proxies close an idle data channel after 30 s). */
export const SPARE_MAX_AGE_MS = 20_000;

/** Gets one proxy with an open data channel; rejects when that fails. */
export type CollectProxy = (signal: AbortSignal) => Promise<ProxyPeer>;

export interface ProxyPoolOptions {
  max: number;
  clock?: Clock;
  retryMinMs?: number;
  retryMaxMs?: number;
  spareMaxAgeMs?: number;
  /** A proxy joined the pool (after `rendezvousMs` of collecting). */
  onConnected?: (peer: ProxyPeer, rendezvousMs: number) => void;
  /** A collection failed; the pool retries after `retryInMs`. */
  onCollectFailed?: (error: Error, retryInMs: number) => void;
  /** A proxy left the pool; `carrying` if it had been popped. */
  onLost?: (peer: ProxyPeer, reason: ProxyLostReason, carrying: boolean) => void;
}

interface Spare {
  peer: ProxyPeer;
  readyAt: number;
}

export class ProxyPool {
  readonly max: number;
  readonly #collect: CollectProxy;
  readonly #options: ProxyPoolOptions;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  readonly #spares: Spare[] = [];
  readonly #carrying = new Set<ProxyPeer>();
  readonly #waiters: ((peer: ProxyPeer) => void)[] = [];
  #collecting = 0;
  #retryAt = 0;
  #retryMs: number;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #spareTimer: ReturnType<typeof setTimeout> | undefined;
  #collected = 0;

  constructor(collect: CollectProxy, options: ProxyPoolOptions) {
    this.max = Math.max(1, Math.floor(options.max)); // Go: max < 1 means 1
    this.#collect = collect;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#retryMs = options.retryMinMs ?? COLLECT_RETRY_MIN_MS;
    this.#refill();
  }

  /** Proxies collected so far. */
  get collected(): number {
    return this.#collected;
  }

  /** Spares ready now. */
  get spares(): number {
    return this.#spares.length;
  }

  /** A proxy to carry the session: a ready spare, else the next one collected. Rejects once the pool is closed. */
  pop(signal: AbortSignal): Promise<ProxyPeer> {
    this.#dropStaleSpares();
    let spare;
    while ((spare = this.#spares.shift()) !== undefined) {
      if (!spare.peer.isClosed) return Promise.resolve(this.#carry(spare.peer));
    }
    if (this.#abort.signal.aborted) return Promise.reject(new Error("proxy pool closed"));
    return new Promise((resolve, reject) => {
      const waiter = (peer: ProxyPeer) => {
        signal.removeEventListener("abort", onAbort);
        this.#abort.signal.removeEventListener("abort", onAbort);
        resolve(this.#carry(peer));
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.aborted ? signal.reason : new Error("proxy pool closed"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#abort.signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#refill();
    });
  }

  /** Closes every proxy and stops collecting. */
  close(): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#spareTimer);
    for (const spare of this.#spares.splice(0)) spare.peer.close("closed");
    for (const peer of this.#carrying) peer.close("closed");
  }

  #carry(peer: ProxyPeer): ProxyPeer {
    this.#carrying.add(peer);
    this.#refill();
    return peer;
  }

  #refill(): void {
    if (this.#abort.signal.aborted || this.#retryTimer !== undefined) return;
    // The waiters count too: a proxy being dropped may still count as carrying while its replacement is asked for.
    const wanted = Math.max(this.max - this.#carrying.size - this.#spares.length, this.#waiters.length);
    while (this.#collecting < Math.min(wanted, this.max)) this.#collectOne();
  }

  #collectOne(): void {
    this.#collecting++;
    const started = this.#clock.now();
    this.#collect(this.#abort.signal).then((peer) => {
      this.#collecting--;
      if (this.#abort.signal.aborted) return peer.close("closed");
      this.#collected++;
      this.#retryMs = this.#options.retryMinMs ?? COLLECT_RETRY_MIN_MS;
      this.#options.onConnected?.(peer, this.#clock.now() - started);
      peer.conn.closed.then(() => this.#onPeerClosed(peer));
      const waiter = this.#waiters.shift();
      if (waiter) waiter(peer);
      else {
        this.#spares.push({ peer, readyAt: this.#clock.now() });
        this.#armSpareTimer();
      }
      this.#refill();
    }, (error) => {
      this.#collecting--;
      if (this.#abort.signal.aborted) return;
      const reason = error instanceof Error ? error : new Error(String(error));
      if (this.#retryTimer !== undefined) {
        // A collection beside it failed first: its retry covers this one too.
        this.#options.onCollectFailed?.(reason, Math.max(0, this.#retryAt - this.#clock.now()));
        return;
      }
      const delay = this.#retryMs;
      this.#retryMs = Math.min(delay * 2, this.#options.retryMaxMs ?? COLLECT_RETRY_MAX_MS);
      this.#retryAt = this.#clock.now() + delay;
      this.#options.onCollectFailed?.(reason, delay);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#refill();
      }, delay);
    });
  }

  #onPeerClosed(peer: ProxyPeer): void {
    const carrying = this.#carrying.delete(peer);
    const i = this.#spares.findIndex((spare) => spare.peer === peer);
    if (i >= 0) this.#spares.splice(i, 1);
    if (this.#abort.signal.aborted) return;
    this.#options.onLost?.(peer, peer.lostReason ?? "closed", carrying);
    this.#refill();
  }

  #dropStaleSpares(): void {
    const maxAge = this.#options.spareMaxAgeMs ?? SPARE_MAX_AGE_MS;
    const now = this.#clock.now();
    while (this.#spares.length > 0 && now - this.#spares[0].readyAt >= maxAge) {
      const spare = this.#spares.shift()!; // oldest first: spares are pushed as they become ready
      spare.peer.close("stale-spare");
    }
  }

  #armSpareTimer(): void {
    clearTimeout(this.#spareTimer);
    if (this.#spares.length === 0) return;
    const maxAge = this.#options.spareMaxAgeMs ?? SPARE_MAX_AGE_MS;
    const oldest = this.#spares[0].readyAt;
    this.#spareTimer = setTimeout(() => {
      this.#dropStaleSpares();
      this.#armSpareTimer();
    }, Math.max(0, oldest + maxAge - this.#clock.now()));
  }
}
