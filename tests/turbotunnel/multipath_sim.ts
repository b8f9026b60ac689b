/**
 * A seeded, simulated-time world for MultipathScheduler: a client Arq whose
 * packets go through the scheduler onto per-carrier Netem links (up and down,
 * each with its own rate, latency and loss) to a server Arq, whose packets wait
 * in a bounded per-client queue that every free carrier (under its high water)
 * drains in turn: the server's "whichever WebSocket is free" (SNOWFLAKE-PROTOCOL.md §8.4). Dials take simulated time;
 * a carrier can be killed silently (the client is not told, as when a proxy is
 * SIGKILLed before ICE notices; the server stops using it at once, as its
 * WebSocket closes). No timers, no sleeping: everything follows from the seed.
 */

import { Arq } from "../../lib/kcp/arq.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { type MultipathConfig, MultipathScheduler } from "../../lib/turbotunnel/multipath_scheduler.ts";
import { ReorderBuffer } from "../../lib/turbotunnel/reorder_buffer.ts";
import { ArqPeer } from "../kcp/arq_peer.ts";
import { Prng } from "../support/random.ts";
import { Netem, type NetemOptions } from "../util/netem.ts";

export type LinkSpec = Omit<NetemOptions, "seed">;

/** Packets in flight on one link at most, unless its spec says otherwise. */
const LINK_CAPACITY = 256;
/** Bytes a server WebSocket takes before it is busy (the server's is 256 KiB; scaled to the links here). */
const SERVER_HIGH_WATER = 64 * 1024;
/** The server's per-client queue, in packets (turbotunnel QUEUE_SIZE). */
const SERVER_QUEUE_SIZE = 512;

export interface PathSpec {
  up: LinkSpec;
  down: LinkSpec;
}

export interface MultipathSimOptions {
  seed: number;
  scheduler: Omit<MultipathConfig, "queueSize"> & { queueSize?: number };
  /** The links of the carrier that dial `attempt` brings up. */
  path(attempt: number): PathSpec;
  /** Simulated time dial `attempt` takes; default 500 ms. */
  dialMs?(attempt: number): number;
  /** Bytes the client sends, and the server. */
  upload: number;
  download: number;
  /** Report each uplink's bottleneck backlog as the carrier's bufferedAmount. */
  reportBuffered?: boolean;
  /** Put the client's received packets in order across carriers, as MultiplexingPacketConn does with max > 1; default true. */
  reorder?: boolean;
}

class Path {
  alive = true;
  upBusyUntil = -Infinity;
  downBusyUntil = -Infinity;
  upBytes = 0;
  downBytes = 0;
  constructor(readonly id: number, readonly spec: PathSpec, readonly up: Netem, readonly down: Netem) {}

  backlog(busyUntil: number, bytesPerMs: number | undefined, now: number): number {
    return bytesPerMs ? Math.max(0, busyUntil - now) * bytesPerMs : 0;
  }
}

export class MultipathSim {
  now = 0;
  readonly scheduler: MultipathScheduler;
  /** The client's ReorderBuffer (null with max 1, as in MultiplexingPacketConn, or when turned off). */
  readonly reorder: ReorderBuffer | null;
  readonly client: ArqPeer;
  readonly server: ArqPeer;
  readonly paths = new Map<number, Path>();
  /** Every path ever up, by id (killed ones included), for byte counts. */
  readonly allPaths: Path[] = [];
  /** Scheduler events as short strings with their time. */
  readonly log: string[] = [];
  /** The longest time, after the first byte, in which neither application read anything (ms). */
  longestGap = 0;
  #lastProgressAt: number | null = null;
  #progressBytes = 0;
  readonly #options: MultipathSimOptions;
  readonly #dials: { attempt: number; at: number }[] = [];
  #serverTurn = 0;
  readonly #serverQueue: Uint8Array[] = [];

  constructor(options: MultipathSimOptions) {
    this.#options = options;
    const random = new Prng(options.seed);
    const conv = 0x5eed;
    this.scheduler = new MultipathScheduler({ queueSize: 512, ...options.scheduler }, 0);
    this.reorder = options.scheduler.max > 1 && options.reorder !== false ? new ReorderBuffer() : null;
    this.client = new ArqPeer(
      new Arq(conv, SNOWFLAKE_KCP_OPTIONS),
      { send: (packet, now) => this.#clientSend(packet, now) },
      random.bytes(options.upload),
      options.seed + 1,
    );
    this.server = new ArqPeer(
      new Arq(conv, SNOWFLAKE_KCP_OPTIONS),
      { send: (packet, now) => this.#serverSend(packet, now) },
      random.bytes(options.download),
      options.seed + 2,
    );
    this.#drain();
  }

  get done(): boolean {
    return this.server.receivedBytes === this.client.source.length &&
      this.client.receivedBytes === this.server.source.length;
  }

  /** Kills carrier `id` silently: nothing more crosses it either way; the server stops using it. */
  kill(id: number): void {
    const path = this.paths.get(id);
    if (path) path.alive = false;
  }

  /** The live carrier that carried the most bytes (both ways) so far. */
  busiest(): number {
    let best = -1;
    let bytes = -1;
    for (const path of this.paths.values()) {
      if (path.alive && path.upBytes + path.downBytes > bytes) {
        best = path.id;
        bytes = path.upBytes + path.downBytes;
      }
    }
    return best;
  }

  /** Runs to the earliest pending event; false when nothing is pending. */
  step(): boolean {
    let next = Math.min(
      this.client.pollTimeout(),
      this.server.pollTimeout(),
      this.scheduler.pollTimeout(),
      this.reorder?.pollTimeout() ?? Infinity,
      this.#serverWake(),
    );
    for (const dial of this.#dials) next = Math.min(next, dial.at);
    for (const path of this.paths.values()) {
      next = Math.min(next, path.up.nextDelivery(), path.down.nextDelivery());
    }
    if (next === Infinity) return false;
    if (next > this.now) this.now = next;
    const now = this.now;
    for (const path of [...this.paths.values()]) {
      for (let p; (p = path.up.receive(now)) !== null;) if (path.alive) this.server.handleInput(p, now);
      for (let p; (p = path.down.receive(now)) !== null;) {
        if (!path.alive || !this.paths.has(path.id)) continue;
        this.scheduler.handleInput(now, { kind: "received", carrier: path.id, packet: p });
        if (this.reorder) this.reorder.handleInput(now, { kind: "received", carrier: path.id, packet: p });
        else this.client.handleInput(p, now);
        this.#drain();
      }
    }
    for (const dial of this.#dials.filter((d) => d.at <= now)) {
      this.#dials.splice(this.#dials.indexOf(dial), 1);
      const spec = this.#options.path(dial.attempt);
      const seed = this.#options.seed * 1000 + dial.attempt * 2;
      // A carrier's queues are bounded (the server's per-client queue, a data channel's buffer): tail drop past 256.
      const path = new Path(
        dial.attempt,
        spec,
        new Netem({ seed, capacity: LINK_CAPACITY, ...spec.up }),
        new Netem({ seed: seed + 1, capacity: LINK_CAPACITY, ...spec.down }),
      );
      this.paths.set(path.id, path);
      this.allPaths.push(path);
      this.scheduler.handleInput(now, { kind: "up", carrier: path.id });
      this.#drain();
    }
    if (this.scheduler.pollTimeout() <= now) {
      this.scheduler.handleTimeout(now);
      this.#drain();
    }
    if (this.reorder && this.reorder.pollTimeout() <= now) {
      this.reorder.handleTimeout(now);
      this.#drain();
    }
    this.#pumpServer(now);
    if (this.client.pollTimeout() <= now) this.client.handleTimeout(now);
    if (this.server.pollTimeout() <= now) this.server.handleTimeout(now);
    const progress = this.server.receivedBytes + this.client.receivedBytes;
    if (progress > this.#progressBytes) {
      if (this.#lastProgressAt !== null) {
        this.longestGap = Math.max(this.longestGap, now - this.#lastProgressAt);
      }
      this.#lastProgressAt = now;
      this.#progressBytes = progress;
    }
    return true;
  }

  /** Steps until `until()` holds; throws past `maxMs` of simulated time or 5 000 000 steps. */
  runUntil(until: () => boolean, maxMs: number): void {
    const end = this.now + maxMs;
    for (let steps = 0; steps < 5_000_000; steps++) {
      if (until()) return;
      if (!this.step() || this.now > end) break;
    }
    throw new Error(
      `stalled at ${this.now} ms: server read ${this.server.receivedBytes}/${this.client.source.length}, ` +
        `client read ${this.client.receivedBytes}/${this.server.source.length}; log: ${this.log.join("; ")}`,
    );
  }

  #clientSend(packet: Uint8Array, now: number): void {
    if (this.#options.reportBuffered) {
      for (const path of this.paths.values()) {
        const bytes = path.backlog(path.upBusyUntil, path.spec.up.bytesPerMs, now);
        this.scheduler.handleInput(now, { kind: "buffered", carrier: path.id, bytes });
      }
    }
    this.scheduler.handleInput(now, { kind: "send", packet });
    this.#drain();
  }

  /** The server's KCP writes to the client's queue (bounded, tail drop), which its WebSockets drain. */
  #serverSend(packet: Uint8Array, now: number): void {
    if (this.#serverQueue.length >= SERVER_QUEUE_SIZE) return;
    this.#serverQueue.push(packet);
    this.#pumpServer(now);
  }

  /** Like the server's WebSocket writers: each one that is free (under its high water) takes the next packet, in turn. */
  #pumpServer(now: number): void {
    while (this.#serverQueue.length > 0) {
      const live = [...this.paths.values()].filter((p) => p.alive);
      let taken = false;
      for (let i = 0; i < live.length && !taken; i++) {
        const path = live[(this.#serverTurn + i) % live.length];
        if (this.#freeAt(path) > now) continue;
        this.#serverTurn += i + 1;
        const packet = this.#serverQueue.shift()!;
        path.downBytes += packet.length;
        const lost = path.down.stats.lost;
        path.down.send(packet, now);
        if (path.spec.down.bytesPerMs && path.down.stats.lost === lost) {
          path.downBusyUntil = Math.max(now, path.downBusyUntil) + packet.length / path.spec.down.bytesPerMs;
        }
        taken = true;
      }
      if (!taken) return;
    }
  }

  /** When a busy WebSocket next falls under its high water (Infinity when none is busy or nothing waits). */
  #serverWake(): number {
    if (this.#serverQueue.length === 0) return Infinity;
    let wake = Infinity;
    for (const path of this.paths.values()) if (path.alive) wake = Math.min(wake, this.#freeAt(path));
    return wake;
  }

  /** When the path's server WebSocket is under its high water (the same formula for the test and the wake-up). */
  #freeAt(path: Path): number {
    const rate = path.spec.down.bytesPerMs;
    return rate ? path.downBusyUntil - SERVER_HIGH_WATER / rate : -Infinity;
  }

  #drain(): void {
    const now = this.now;
    for (let t = this.scheduler.pollTransmit(); t; t = this.scheduler.pollTransmit()) {
      const path = this.paths.get(t.carrier);
      if (!path || t.packet === undefined) continue;
      path.upBytes += t.packet.length;
      if (!path.alive) continue;
      const lost = path.up.stats.lost;
      path.up.send(t.packet, now);
      if (path.spec.up.bytesPerMs && path.up.stats.lost === lost) {
        path.upBusyUntil = Math.max(now, path.upBusyUntil) + t.packet.length / path.spec.up.bytesPerMs;
      }
    }
    for (let e = this.scheduler.pollEvent(); e; e = this.scheduler.pollEvent()) {
      switch (e.kind) {
        case "dial":
          this.#dials.push({ attempt: e.attempt, at: now + (this.#options.dialMs?.(e.attempt) ?? 500) });
          this.log.push(`${Math.round(now)} dial ${e.attempt}`);
          break;
        case "up":
          this.reorder?.handleInput(now, { kind: "up", carrier: e.carrier });
          this.log.push(`${Math.round(now)} up ${e.carrier}`);
          break;
        case "down":
          this.reorder?.handleInput(now, { kind: "down", carrier: e.carrier });
          this.paths.delete(e.carrier);
          this.log.push(`${Math.round(now)} down ${e.carrier}: ${e.reason.message}`);
          break;
        default:
          this.log.push(`${Math.round(now)} ${e.kind}`);
      }
    }
    if (this.reorder) {
      for (let p; (p = this.reorder.pollTransmit()) !== null;) this.client.handleInput(p, now);
    }
  }
}
