/**
 * The broker's rendezvous as a sans-I/O state machine (SNOWFLAKE-PROTOCOL.md
 * §4.7–§4.8): proxies' polls wait in pools by NAT type, ordered by client
 * count; a client's offer takes one compatible proxy (see nat_policy.ts), and
 * the client then waits for that proxy's answer, posted under its session ID.
 *
 * No clock, no timers, no I/O: every input carries `now` (ms), and outcomes
 * that concern another party come out of {@link Matcher.pollEvent}. After any
 * call, drain `pollEvent()` until undefined; arm one timer for
 * `pollTimeout()` and call `handleTimeout(now)` when it fires.
 *
 * Bounds: at most `maxWaitingProxies` polls wait (more are refused with
 * "over-capacity"), at most `maxWaitingClients` clients wait for an answer
 * (likewise). Every waiting party has a deadline (`proxyTimeoutMs`,
 * `clientTimeoutMs`). Finished entries linger in the deadline queues until
 * their deadline or the next compaction, which runs when they outnumber the
 * live ones.
 */

import { NAT_RESTRICTED, NAT_UNKNOWN, NAT_UNRESTRICTED, type NatType } from "../messages/nat.ts";
import { candidateProxyPools, type NatPolicy } from "./nat_policy.ts";
import { DeadlineQueue } from "./deadline_queue.ts";
import { type HeapEntry, ProxyHeap } from "./proxy_heap.ts";

/** Go `ProxyTimeout`: how long a proxy's poll is held without a client. */
export const PROXY_TIMEOUT_MS = 10_000;
/** How long a client waits for its proxy's answer (Go `ClientTimeout` is 10 s; ours defaults shorter). */
export const CLIENT_TIMEOUT_MS = 5_000;
/** Default bound on polls held at once. */
export const MAX_WAITING_PROXIES = 10_000;
/** Default bound on clients waiting for an answer at once. */
export const MAX_WAITING_CLIENTS = 5_000;

/** The matcher's timeouts, waiting bounds and NAT policy; each defaults to the constant above it. */
export interface MatcherOptions extends NatPolicy {
  /** How long a proxy's poll is held waiting for a client; default {@link PROXY_TIMEOUT_MS}. */
  proxyTimeoutMs?: number;
  /** How long a client waits for its proxy's answer; default {@link CLIENT_TIMEOUT_MS}. */
  clientTimeoutMs?: number;
  /** Most proxy polls held at once (more are refused); default {@link MAX_WAITING_PROXIES}. */
  maxWaitingProxies?: number;
  /** Most clients waiting at once (more are refused); default {@link MAX_WAITING_CLIENTS}. */
  maxWaitingClients?: number;
}

/** A proxy's poll, decoded. */
export interface ProxyPoll {
  sid: string;
  proxyType: string;
  nat: NatType;
  clients: number;
}

/** What a matched proxy is handed: the client's offer and NAT type, and the relay for the client's bridge. */
export interface ClientOffer {
  offer: string;
  nat: NatType;
  relayURL: string;
}

export type MatcherEvent =
  /** A waiting proxy was given a client: its poll returns `client match`. */
  | { type: "proxy-matched"; proxy: number; offer: ClientOffer }
  /** A waiting proxy's poll ends without a client: `no match`. */
  | { type: "proxy-released"; proxy: number; reason: "timeout" | "replaced" | "closed" }
  /** A waiting client got its proxy's answer. */
  | { type: "client-answered"; client: number; answer: string }
  /** A waiting client's proxy did not answer in time (or the matcher closed). */
  | { type: "client-expired"; client: number; reason: "timeout" | "closed" };

/** Why a poll or offer was not taken. */
export type Refusal = "over-capacity" | "sid-in-use" | "no-proxy";

interface ProxyEntry extends HeapEntry {
  id: number;
  sid: string;
  proxyType: string;
  nat: NatType;
  deadline: number;
  state: "waiting" | "matched" | "done";
  client?: ClientEntry;
}

interface ClientEntry {
  id: number;
  proxy: ProxyEntry;
  deadline: number;
  state: "waiting" | "done";
}

export class Matcher {
  readonly proxyTimeoutMs: number;
  readonly clientTimeoutMs: number;
  readonly maxWaitingProxies: number;
  readonly maxWaitingClients: number;
  readonly #policy: NatPolicy;

  readonly #pools: Record<NatType, ProxyHeap<ProxyEntry>> = {
    [NAT_UNRESTRICTED]: new ProxyHeap(),
    [NAT_RESTRICTED]: new ProxyHeap(),
    [NAT_UNKNOWN]: new ProxyHeap(),
  };
  /** Proxies waiting or matched, by session ID (where answers are looked up). */
  readonly #bySid = new Map<string, ProxyEntry>();
  readonly #proxies = new Map<number, ProxyEntry>();
  readonly #clients = new Map<number, ClientEntry>();
  readonly #proxyDeadlines = new DeadlineQueue<ProxyEntry>();
  readonly #clientDeadlines = new DeadlineQueue<ClientEntry>();
  readonly #events: MatcherEvent[] = [];
  #eventHead = 0;
  #nextId = 1;
  #waitingProxies = 0;

  constructor(options: MatcherOptions = {}) {
    this.proxyTimeoutMs = options.proxyTimeoutMs ?? PROXY_TIMEOUT_MS;
    this.clientTimeoutMs = options.clientTimeoutMs ?? CLIENT_TIMEOUT_MS;
    this.maxWaitingProxies = options.maxWaitingProxies ?? MAX_WAITING_PROXIES;
    this.maxWaitingClients = options.maxWaitingClients ?? MAX_WAITING_CLIENTS;
    this.#policy = { allowUnknownNatMatching: options.allowUnknownNatMatching ?? false };
  }

  /** Polls waiting for a client. */
  get waitingProxies(): number {
    return this.#waitingProxies;
  }

  /** Clients waiting for an answer. */
  get waitingClients(): number {
    return this.#clients.size;
  }

  /**
   * A proxy polls. Returns the poll's id, or a refusal: "over-capacity" when
   * `maxWaitingProxies` polls already wait, "sid-in-use" when this session ID
   * was matched and its answer is still awaited. A new poll under the session
   * ID of a waiting poll replaces it (the old one is released).
   */
  addProxy(poll: ProxyPoll, now: number): number | Refusal {
    const existing = this.#bySid.get(poll.sid);
    if (existing?.state === "matched") return "sid-in-use";
    if (existing?.state === "waiting") this.#releaseProxy(existing, "replaced");
    if (this.#waitingProxies >= this.maxWaitingProxies) return "over-capacity";
    const id = this.#nextId++;
    const entry: ProxyEntry = {
      id,
      seq: id,
      sid: poll.sid,
      proxyType: poll.proxyType,
      nat: poll.nat,
      // A negative count would jump the queue; the reference does not guard against it.
      clients: Math.max(0, poll.clients),
      heapIndex: -1,
      deadline: now + this.proxyTimeoutMs,
      state: "waiting",
    };
    this.#pools[entry.nat].push(entry);
    this.#bySid.set(entry.sid, entry);
    this.#proxies.set(entry.id, entry);
    this.#proxyDeadlines.push(entry);
    this.#waitingProxies++;
    return entry.id;
  }

  /**
   * A client offers. Returns the client's id (a proxy was matched: its
   * "proxy-matched" event is queued), or "no-proxy" / "over-capacity".
   */
  addClient(offer: ClientOffer, now: number): number | Refusal {
    if (this.#clients.size >= this.maxWaitingClients) return "over-capacity";
    const proxy = this.#takeProxy(offer.nat);
    if (proxy === undefined) return "no-proxy";
    proxy.state = "matched";
    this.#waitingProxies--;
    const client: ClientEntry = {
      id: this.#nextId++,
      proxy,
      deadline: now + this.clientTimeoutMs,
      state: "waiting",
    };
    proxy.client = client;
    this.#clients.set(client.id, client);
    this.#clientDeadlines.push(client);
    this.#events.push({ type: "proxy-matched", proxy: proxy.id, offer });
    return client.id;
  }

  /** Which pool a client of this NAT type would draw from now, without taking anyone (for tests and metrics). */
  peekProxy(nat: NatType): { sid: string; nat: NatType; clients: number } | undefined {
    const entry = this.#bestProxy(nat);
    return entry && { sid: entry.sid, nat: entry.nat, clients: entry.clients };
  }

  /**
   * A proxy posts its answer under `sid`. True if a client was waiting for it
   * (a "client-answered" event is queued); false means "client gone".
   */
  answer(sid: string, answer: string): boolean {
    const proxy = this.#bySid.get(sid);
    if (proxy?.state !== "matched" || proxy.client === undefined) return false;
    const client = proxy.client;
    this.#finishClient(client);
    this.#events.push({ type: "client-answered", client: client.id, answer });
    return true;
  }

  /** The proxy behind a poll went away (its HTTP request was aborted): it leaves its pool. No event. */
  cancelProxy(id: number): void {
    const entry = this.#proxies.get(id);
    if (entry?.state !== "waiting") return;
    this.#removeWaitingProxy(entry);
  }

  /** A waiting client went away: its proxy's answer will get "client gone". No event. */
  cancelClient(id: number): void {
    const client = this.#clients.get(id);
    if (client?.state === "waiting") this.#finishClient(client);
  }

  /** Expires every poll and client whose deadline is at or before `now`. */
  handleTimeout(now: number): void {
    for (let proxy = this.#proxyDeadlines.peekLive(); proxy && proxy.deadline <= now;) {
      this.#proxyDeadlines.shift();
      if (proxy.state === "waiting") this.#releaseProxy(proxy, "timeout");
      proxy = this.#proxyDeadlines.peekLive();
    }
    for (let client = this.#clientDeadlines.peekLive(); client && client.deadline <= now;) {
      this.#clientDeadlines.shift();
      this.#finishClient(client);
      this.#events.push({ type: "client-expired", client: client.id, reason: "timeout" });
      client = this.#clientDeadlines.peekLive();
    }
    this.#proxyDeadlines.compact(this.#proxies.size);
    this.#clientDeadlines.compact(this.#clients.size);
  }

  /** When `handleTimeout` next has work, or undefined when nothing waits. */
  pollTimeout(): number | undefined {
    const proxy = this.#proxyDeadlines.peekLive()?.deadline;
    const client = this.#clientDeadlines.peekLive()?.deadline;
    if (proxy === undefined) return client;
    if (client === undefined) return proxy;
    return Math.min(proxy, client);
  }

  /** The next outcome for another party, or undefined. */
  pollEvent(): MatcherEvent | undefined {
    if (this.#eventHead >= this.#events.length) {
      if (this.#eventHead > 0) {
        this.#events.length = 0;
        this.#eventHead = 0;
      }
      return undefined;
    }
    return this.#events[this.#eventHead++];
  }

  /** Releases every waiting poll and client (shutdown). */
  close(): void {
    for (const entry of [...this.#proxies.values()]) {
      if (entry.state === "waiting") this.#releaseProxy(entry, "closed");
    }
    for (const client of [...this.#clients.values()]) {
      this.#finishClient(client);
      this.#events.push({ type: "client-expired", client: client.id, reason: "closed" });
    }
  }

  /** Every known proxy (waiting, or matched and awaiting its answer): Go's `idToSnowflake`, for /debug. */
  *knownProxies(): Iterable<{ proxyType: string; nat: NatType; waiting: boolean }> {
    for (const entry of this.#proxies.values()) {
      yield { proxyType: entry.proxyType, nat: entry.nat, waiting: entry.state === "waiting" };
    }
  }

  #bestProxy(clientNat: NatType): ProxyEntry | undefined {
    for (const tier of candidateProxyPools(clientNat, this.#policy)) {
      let best: ProxyEntry | undefined;
      for (const nat of tier) {
        const top = this.#pools[nat].peek();
        if (
          top && (!best || top.clients < best.clients || (top.clients === best.clients && top.seq < best.seq))
        ) {
          best = top;
        }
      }
      if (best) return best;
    }
    return undefined;
  }

  #takeProxy(clientNat: NatType): ProxyEntry | undefined {
    const best = this.#bestProxy(clientNat);
    if (best) this.#pools[best.nat].remove(best);
    return best;
  }

  #removeWaitingProxy(entry: ProxyEntry): void {
    this.#pools[entry.nat].remove(entry);
    entry.state = "done";
    this.#waitingProxies--;
    this.#proxies.delete(entry.id);
    if (this.#bySid.get(entry.sid) === entry) this.#bySid.delete(entry.sid);
  }

  #releaseProxy(entry: ProxyEntry, reason: "timeout" | "replaced" | "closed"): void {
    this.#removeWaitingProxy(entry);
    this.#events.push({ type: "proxy-released", proxy: entry.id, reason });
  }

  #finishClient(client: ClientEntry): void {
    client.state = "done";
    this.#clients.delete(client.id);
    const proxy = client.proxy;
    proxy.state = "done";
    proxy.client = undefined;
    this.#proxies.delete(proxy.id);
    if (this.#bySid.get(proxy.sid) === proxy) this.#bySid.delete(proxy.sid);
  }
}
