/**
 * RedialPacketConn: the client's long-lived PacketConn for KCP, carried by a
 * sequence of short-lived carrier PacketConns (one per snowflake proxy), so the
 * KCP session outlives every proxy (SNOWFLAKE-PROTOCOL.md §3.7; Go's
 * common/turbotunnel/redialpacketconn.go).
 *
 * A dial loop calls `dial()` and uses the carrier until it fails (its `readFrom`
 * returns null or throws, or its `writeTo` throws), then closes it and dials
 * again at once. Packets written meanwhile wait in the send queue and go out on
 * the next carrier; a packet whose write hit a closed carrier is retried there.
 * If `dial` throws, the conn closes for good with that error.
 *
 * Bounds: send and receive queues of `queueSize` packets each; at the bound the
 * packet is dropped (counted in `droppedSend` / `droppedReceive`), as Go does.
 * Redials are at least `minRedialIntervalMs` apart (start to start; default 0,
 * like Go) and always yield to the event loop, so a carrier that dies at once
 * cannot spin a core.
 *
 * `writeTo` ignores its address; `readFrom` reports the fixed `remoteAddr`.
 * Events (see redial_events.ts): "carrierup", "carrierdown", "redial", "close".
 */

import { AsyncQueue } from "../net/async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../net/packet_conn.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { sleep } from "../util/sleep.ts";
import { TypedEventTarget } from "../util/typed_events.ts";
import { QUEUE_SIZE } from "./consts.ts";
import {
  CarrierDownEvent,
  CarrierUpEvent,
  RedialCloseEvent,
  RedialEvent,
  type RedialPacketConnEventMap,
} from "./redial_events.ts";

/** Makes a new carrier; `signal` aborts when the RedialPacketConn closes. Throwing closes the RedialPacketConn. */
export type DialCarrier = (signal: AbortSignal) => Promise<PacketConn>;

/** Bounds and timing of a {@link RedialPacketConn}. */
export interface RedialPacketConnOptions {
  /** Capacity of the send and receive queues, in packets; default QUEUE_SIZE (512). */
  queueSize?: number;
  /** Address reported by readFrom; default "redial". */
  remoteAddr?: string;
  /** Least time between the starts of two dials; default 0 (Go redials at once). */
  minRedialIntervalMs?: number;
  /** Time source for `minRedialIntervalMs`; default the system's monotonic clock. */
  clock?: Clock;
  /** Waits `ms` or until `signal` aborts; default setTimeout. Tests inject their own. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * The client side of Turbo Tunnel (Go client's `RedialPacketConn`): one PacketConn over a series of carriers; when one fails it dials the next, and the KCP session above never notices.
 *
 * ```ts
 * // The dial function returns each next carrier; a failed dial ends the conn for good.
 * const conn = new RedialPacketConn(() => Promise.reject(new Error("no proxy")));
 * conn.addEventListener("carrierdown", (e) => console.log(`carrier ${e.attempt}: ${e.reason.message}`));
 * console.log((await conn.closed)?.message); // "no proxy"
 * ```
 */
export class RedialPacketConn extends TypedEventTarget<RedialPacketConnEventMap> implements PacketConn {
  /** What `readFrom` reports as the source (see {@link RedialPacketConnOptions.remoteAddr}). */
  readonly remoteAddr: string;
  /** Resolves when the conn closes for good: with the dial error, or null after close(). */
  readonly closed: Promise<Error | null>;
  readonly #dial: DialCarrier;
  readonly #sendQueue: AsyncQueue<Uint8Array>;
  readonly #recvQueue: AsyncQueue<Uint8Array>;
  readonly #minRedialIntervalMs: number;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #abort = new AbortController();
  #resolveClosed!: (error: Error | null) => void;
  #error: Error | null = null;
  #carrier: PacketConn | null = null;
  #retry: Uint8Array | null = null; // a packet whose write failed on the last carrier
  #wakeWriter: (() => void) | null = null;
  #dials = 0;
  #droppedSend = 0;
  #droppedReceive = 0;

  /** Starts dialing at once with `dial`; each carrier it returns is used until it fails. */
  constructor(dial: DialCarrier, options: RedialPacketConnOptions = {}) {
    super();
    this.#dial = dial;
    this.remoteAddr = options.remoteAddr ?? "redial";
    const queueSize = options.queueSize ?? QUEUE_SIZE;
    this.#sendQueue = new AsyncQueue(queueSize);
    this.#recvQueue = new AsyncQueue(queueSize);
    this.#minRedialIntervalMs = options.minRedialIntervalMs ?? 0;
    this.#clock = options.clock ?? systemClock;
    this.#sleep = options.sleep ?? sleep;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#dialLoop();
  }

  /** The dial error that closed the conn, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Dials started so far (the first one included). */
  get dials(): number {
    return this.#dials;
  }

  /** Outgoing packets dropped because the send queue was full. */
  get droppedSend(): number {
    return this.#droppedSend;
  }

  /** Incoming packets dropped because the receive queue was full. */
  get droppedReceive(): number {
    return this.#droppedReceive;
  }

  /** The next packet from whichever carrier is current; null once closed. */
  async readFrom(): Promise<Packet | null> {
    const packet = await this.#recvQueue.shift();
    return packet === null ? null : { packet, addr: this.remoteAddr };
  }

  /** Queues `packet` for the current or next carrier; drops it when the queue is full. Takes ownership. */
  writeTo(packet: Uint8Array, _addr: string): void {
    if (this.#abort.signal.aborted) {
      const error = new ConnClosedError("RedialPacketConn");
      if (this.#error) error.cause = this.#error; // the dial error that closed it
      throw error;
    }
    if (!this.#sendQueue.push(packet)) {
      this.#droppedSend++;
      return;
    }
    this.#wakeWriter?.();
  }

  /** Closes for good: the current carrier is closed, no redial follows, `readFrom` returns null. */
  close(): void {
    this.#closeWith(null);
  }

  async #dialLoop(): Promise<void> {
    const signal = this.#abort.signal;
    let lastDialStart = -Infinity;
    for (let attempt = 0; !signal.aborted; attempt++) {
      if (attempt > 0) {
        // Yield even when no wait is needed: a carrier that dies at once must not starve the event loop.
        const wait = Math.max(0, lastDialStart + this.#minRedialIntervalMs - this.#clock.now());
        await this.#sleep(wait, signal);
        if (signal.aborted) return;
        this.dispatchEvent(new RedialEvent(attempt));
      }
      lastDialStart = this.#clock.now();
      this.#dials++;
      let carrier: PacketConn;
      try {
        carrier = await this.#dial(signal);
      } catch (error) {
        this.#closeWith(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (signal.aborted) {
        carrier.close();
        return;
      }
      this.#carrier = carrier;
      this.dispatchEvent(new CarrierUpEvent(attempt));
      const reason = await this.#exchange(carrier);
      this.#carrier = null;
      carrier.close();
      if (signal.aborted) return;
      this.dispatchEvent(new CarrierDownEvent(attempt, reason));
    }
  }

  /** Moves packets between the queues and `carrier` until either direction fails; resolves with why. */
  #exchange(carrier: PacketConn): Promise<Error> {
    return new Promise<Error>((resolveDown) => {
      let down = false;
      const stop = (reason: Error) => {
        if (down) return;
        down = true;
        this.#wakeWriter?.();
        resolveDown(reason);
      };
      const signal = this.#abort.signal;
      const onAbort = () => stop(new ConnClosedError("RedialPacketConn"));
      signal.addEventListener("abort", onAbort, { once: true });

      const readLoop = async () => {
        for (;;) {
          const received = await carrier.readFrom();
          if (received === null) return stop(new Error("carrier closed (its readFrom returned null)"));
          // Packets still arriving after a write failure are good packets: keep them.
          if (!this.#recvQueue.push(received.packet) && !signal.aborted) this.#droppedReceive++;
        }
      };
      readLoop().catch((error) => stop(error instanceof Error ? error : new Error(String(error))));

      const writeLoop = async () => {
        while (!down) {
          const packet = this.#retry ?? this.#sendQueue.tryShift();
          if (packet === undefined) {
            await new Promise<void>((resolve) => this.#wakeWriter = resolve);
            this.#wakeWriter = null;
            continue;
          }
          this.#retry = null;
          try {
            carrier.writeTo(packet, this.remoteAddr);
          } catch (error) {
            // A closed carrier did not take the packet: give it to the next one. Any other error is about the packet.
            if (error instanceof ConnClosedError) this.#retry = packet;
            else this.#droppedSend++;
            return stop(error instanceof Error ? error : new Error(String(error)));
          }
        }
      };
      writeLoop().finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  #closeWith(error: Error | null): void {
    if (this.#abort.signal.aborted) return;
    this.#error = error;
    this.#abort.abort();
    this.#retry = null;
    this.#sendQueue.clear();
    this.#sendQueue.close();
    this.#recvQueue.clear();
    this.#recvQueue.close();
    this.#carrier?.close();
    this.#resolveClosed(error);
    this.dispatchEvent(new RedialCloseEvent(error));
  }
}
