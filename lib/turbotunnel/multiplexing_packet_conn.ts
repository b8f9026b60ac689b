/**
 * MultiplexingPacketConn: the client's long-lived PacketConn for KCP over up to
 * `max` carriers at once (one per snowflake proxy), the step after
 * RedialPacketConn that the Turbo Tunnel walkthrough proposes: packets are
 * striped across the live carriers, so when a proxy dies the packets sent
 * through it are found lost and go out again on another one, and a
 * replacement is dialed while the others carry the traffic. Nothing changes
 * for proxies or the server, which already sends a ClientID's packets on
 * whichever of its WebSockets is free (SNOWFLAKE-PROTOCOL.md §8.4).
 *
 * This is the I/O adapter of multipath_scheduler.ts (the decisions are all
 * there): it runs the dials and one read loop per carrier, hands every packet
 * in or out to the scheduler with the clock read once, performs what it
 * polls, and arms one timer for its `pollTimeout()`. Same constructor shape
 * and events as RedialPacketConn (multiplexing_events.ts); with `max` 1 it
 * behaves as RedialPacketConn: one carrier until it closes, then a redial.
 *
 * A carrier may offer `bufferedAmount` (bytes waiting to leave it, read before
 * each striping decision), `writePadding(bytes)` (for idle padding) and
 * `drop(reason)` (closed with the scheduler's reason); see
 * {@link CarrierExtensions}.
 *
 * Bounds: a receive queue of `queueSize` packets (more are dropped, counted in
 * `droppedReceive`); outgoing packets go straight to their carrier, or wait in
 * the scheduler's queue of `queueSize` while no carrier is live (`droppedSend`).
 * Incoming packets from every live carrier are delivered; with `max` > 1 they
 * pass through a ReorderBuffer (reorder_buffer.ts), which puts the peer's
 * data back in order across carriers before KCP acks it.
 */

import { AsyncQueue } from "../net/async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../net/packet_conn.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { sleep as defaultSleep } from "../util/sleep.ts";
import { TypedEventTarget } from "../util/typed_events.ts";
import { QUEUE_SIZE } from "./consts.ts";
import {
  type IdlePadding,
  type MultipathEvent,
  type MultipathInput,
  MultipathScheduler,
} from "./multipath_scheduler.ts";
import { DialErrorEvent, type MultiplexingPacketConnEventMap } from "./multiplexing_events.ts";
import { CarrierDownEvent, CarrierUpEvent, RedialCloseEvent, RedialEvent } from "./redial_events.ts";
import type { DialCarrier, RedialPacketConnOptions } from "./redial_packet_conn.ts";
import { ReorderBuffer, type ReorderInput, type ReorderStats } from "./reorder_buffer.ts";

/** Default carriers kept live at once. */
export const DEFAULT_MAX_CARRIERS = 2;

/** What a carrier may offer beyond PacketConn. */
export interface CarrierExtensions {
  /** Bytes accepted by writeTo that have not left yet (a data channel's bufferedAmount plus its own queue). */
  readonly bufferedAmount?: number;
  /** Sends `bytes` of padding, which every receiver skips (encapsulation padding, SNOWFLAKE-PROTOCOL.md §2). */
  writePadding?(bytes: number): void;
  /** Closes the carrier because the conn gave up on it (`reason`: the scheduler's, e.g. a CarrierLostError). */
  drop?(reason: Error): void;
}

type Carrier = PacketConn & CarrierExtensions;

export interface MultiplexingPacketConnOptions extends RedialPacketConnOptions {
  /** Carriers kept live at most; default {@link DEFAULT_MAX_CARRIERS}. */
  max?: number;
  /** Least loss timeout in ms (see multipath_scheduler.ts); default 1000. */
  lossTimeoutMinMs?: number;
  /** Padding on carriers idle this long (needs carriers with writePadding); default none. */
  idlePadding?: IdlePadding | null;
}

export class MultiplexingPacketConn extends TypedEventTarget<MultiplexingPacketConnEventMap>
  implements PacketConn {
  readonly remoteAddr: string;
  /** Resolves when the conn closes for good: with the dial error, or null after close(). */
  readonly closed: Promise<Error | null>;
  readonly #dial: DialCarrier;
  readonly #scheduler: MultipathScheduler;
  /** Puts received packets in order across carriers (null with max 1: RedialPacketConn's path). */
  readonly #reorder: ReorderBuffer | null;
  readonly #recvQueue: AsyncQueue<Uint8Array>;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #abort = new AbortController();
  readonly #carriers = new Map<number, Carrier>();
  /** Last bufferedAmount reported per carrier. */
  readonly #buffered = new Map<number, number>();
  #resolveClosed!: (error: Error | null) => void;
  #error: Error | null = null;
  #draining = false;
  #timerAt = Infinity;
  #timer: AbortController | null = null;
  #dials = 0;
  #writeErrors = 0;
  #droppedReceive = 0;

  constructor(dial: DialCarrier, options: MultiplexingPacketConnOptions = {}) {
    super();
    this.#dial = dial;
    this.remoteAddr = options.remoteAddr ?? "redial";
    const queueSize = options.queueSize ?? QUEUE_SIZE;
    this.#recvQueue = new AsyncQueue(queueSize);
    this.#clock = options.clock ?? systemClock;
    this.#sleep = options.sleep ?? defaultSleep;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#scheduler = new MultipathScheduler({
      max: options.max ?? DEFAULT_MAX_CARRIERS,
      queueSize,
      minRedialIntervalMs: options.minRedialIntervalMs ?? 0,
      lossTimeoutMinMs: options.lossTimeoutMinMs,
      idlePadding: options.idlePadding,
    }, this.#clock.now());
    this.#reorder = this.#scheduler.max > 1 ? new ReorderBuffer() : null;
    this.#drain();
  }

  /** Carriers kept live at most. */
  get max(): number {
    return this.#scheduler.max;
  }

  /** The dial error that closed the conn, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Dials started so far. */
  get dials(): number {
    return this.#dials;
  }

  /** Carriers live now. */
  get liveCarriers(): number {
    return this.#scheduler.liveCarriers;
  }

  /** Outgoing packets dropped: no carrier live and the queue full, or refused by a carrier as bad. */
  get droppedSend(): number {
    return this.#scheduler.droppedSend + this.#writeErrors;
  }

  /** Incoming packets dropped because the receive queue was full. */
  get droppedReceive(): number {
    return this.#droppedReceive;
  }

  /** Segments resent at once on other carriers after a carrier was dropped. */
  get reinjected(): number {
    return this.#scheduler.reinjected;
  }

  /** What putting received packets back in order did (null with max 1). */
  reorderStats(): ReorderStats | null {
    return this.#reorder?.stats() ?? null;
  }

  /** Each live carrier's figures (RTT, delivery rate, bytes in flight, packets). */
  carrierStats(): ReturnType<MultipathScheduler["carriers"]> {
    return this.#scheduler.carriers(this.#clock.now());
  }

  /** The next packet from any carrier; null once closed. */
  async readFrom(): Promise<Packet | null> {
    const packet = await this.#recvQueue.shift();
    return packet === null ? null : { packet, addr: this.remoteAddr };
  }

  /** Sends `packet` on the carrier the scheduler picks (or queues it while none is live). Takes ownership. */
  writeTo(packet: Uint8Array, _addr: string): void {
    if (this.#abort.signal.aborted) {
      const error = new ConnClosedError("MultiplexingPacketConn");
      if (this.#error) error.cause = this.#error; // the dial error that closed it
      throw error;
    }
    if (this.#carriers.size > 1) this.#reportBuffered();
    this.#input({ kind: "send", packet });
  }

  close(): void {
    this.#input({ kind: "close", error: null });
  }

  #input(input: MultipathInput): void {
    this.#scheduler.handleInput(this.#clock.now(), input);
    this.#drain();
  }

  #reportBuffered(): void {
    for (const [id, carrier] of this.#carriers) {
      const bytes = carrier.bufferedAmount;
      if (bytes === undefined || this.#buffered.get(id) === bytes) continue;
      this.#buffered.set(id, bytes);
      this.#scheduler.handleInput(this.#clock.now(), { kind: "buffered", carrier: id, bytes });
    }
  }

  /** Performs what the scheduler asks, until it asks nothing more; then arms the timer. */
  #drain(): void {
    if (this.#draining) return; // an event listener called back into us: the loop below picks it up
    this.#draining = true;
    try {
      for (let busy = true; busy;) {
        busy = false;
        for (let t = this.#scheduler.pollTransmit(); t; t = this.#scheduler.pollTransmit()) {
          busy = true;
          const carrier = this.#carriers.get(t.carrier);
          if (!carrier) continue;
          if (t.padding !== undefined) {
            carrier.writePadding?.(t.padding);
            continue;
          }
          try {
            carrier.writeTo(t.packet, this.remoteAddr);
          } catch (error) {
            const reason = error instanceof Error ? error : new Error(String(error));
            // A closed carrier did not take the packet: it goes elsewhere. Any other error is about the packet.
            if (error instanceof ConnClosedError) {
              this.#scheduler.handleInput(this.#clock.now(), {
                kind: "refused",
                carrier: t.carrier,
                packet: t.packet,
                reason,
              });
            } else {
              this.#writeErrors++;
              this.#scheduler.handleInput(this.#clock.now(), { kind: "down", carrier: t.carrier, reason });
            }
          }
        }
        for (let e = this.#scheduler.pollEvent(); e; e = this.#scheduler.pollEvent()) {
          busy = true;
          this.#perform(e);
        }
        for (let p = this.#reorder?.pollTransmit(); p; p = this.#reorder!.pollTransmit()) {
          if (!this.#recvQueue.push(p)) this.#droppedReceive++;
        }
      }
    } finally {
      this.#draining = false;
    }
    this.#armTimer();
  }

  #perform(event: MultipathEvent): void {
    switch (event.kind) {
      case "dial":
        if (event.replacement) this.dispatchEvent(new RedialEvent(event.attempt));
        this.#startDial(event.attempt);
        return;
      case "up":
        this.#reorderInput({ kind: "up", carrier: event.carrier });
        this.dispatchEvent(new CarrierUpEvent(event.carrier));
        return;
      case "down": {
        this.#reorderInput({ kind: "down", carrier: event.carrier });
        const carrier = this.#carriers.get(event.carrier);
        this.#carriers.delete(event.carrier);
        this.#buffered.delete(event.carrier);
        if (carrier?.drop) carrier.drop(event.reason);
        else carrier?.close();
        this.dispatchEvent(new CarrierDownEvent(event.carrier, event.reason));
        return;
      }
      case "dialerror":
        this.dispatchEvent(new DialErrorEvent(event.attempt, event.error, event.retryAt));
        return;
      case "close":
        this.#finish(event.error);
        return;
    }
  }

  #startDial(attempt: number): void {
    this.#dials++;
    const signal = this.#abort.signal;
    let dialing: Promise<PacketConn>;
    try {
      dialing = this.#dial(signal);
    } catch (error) {
      dialing = Promise.reject(error);
    }
    dialing.then(
      (carrier) => {
        if (signal.aborted) {
          carrier.close();
          return;
        }
        this.#carriers.set(attempt, carrier);
        this.#input({ kind: "up", carrier: attempt });
        if (this.#carriers.has(attempt)) this.#readLoop(attempt, carrier);
      },
      (error) => {
        if (signal.aborted) return;
        this.#input({
          kind: "dialfailed",
          carrier: attempt,
          error: error instanceof Error ? error : new Error(String(error)),
        });
      },
    );
  }

  async #readLoop(id: number, carrier: Carrier): Promise<void> {
    const signal = this.#abort.signal;
    let reason: Error;
    try {
      for (;;) {
        const received = await carrier.readFrom();
        if (received === null) {
          reason = new Error("carrier closed (its readFrom returned null)");
          break;
        }
        if (signal.aborted) return;
        this.#scheduler.handleInput(this.#clock.now(), {
          kind: "received",
          carrier: id,
          packet: received.packet,
        });
        // Packets still arriving from a carrier being dropped are good packets: keep them.
        if (this.#reorder) this.#reorderInput({ kind: "received", carrier: id, packet: received.packet });
        else if (!this.#recvQueue.push(received.packet)) this.#droppedReceive++;
        this.#drain();
      }
    } catch (error) {
      reason = error instanceof Error ? error : new Error(String(error));
    }
    if (!signal.aborted && this.#carriers.get(id) === carrier) {
      this.#input({ kind: "down", carrier: id, reason });
    }
  }

  #reorderInput(input: ReorderInput): void {
    this.#reorder?.handleInput(this.#clock.now(), input);
  }

  #armTimer(): void {
    if (this.#abort.signal.aborted) return;
    const at = Math.min(this.#scheduler.pollTimeout(), this.#reorder?.pollTimeout() ?? Infinity);
    if (at >= this.#timerAt) return;
    this.#timer?.abort();
    const timer = new AbortController();
    this.#timer = timer;
    this.#timerAt = at;
    // Always through the timer, even for a wait of 0: a carrier that dies at once must not starve the event loop.
    this.#sleep(Math.max(0, at - this.#clock.now()), timer.signal).then(() => {
      if (timer.signal.aborted || this.#abort.signal.aborted) return;
      this.#timer = null;
      this.#timerAt = Infinity;
      const now = this.#clock.now();
      this.#scheduler.handleTimeout(now);
      if (this.#reorder && this.#reorder.pollTimeout() <= now) this.#reorder.handleTimeout(now);
      this.#drain();
    });
  }

  #finish(error: Error | null): void {
    if (this.#abort.signal.aborted) return;
    this.#error = error;
    this.#abort.abort();
    this.#timer?.abort();
    this.#recvQueue.clear();
    this.#recvQueue.close();
    for (const carrier of this.#carriers.values()) carrier.close();
    this.#carriers.clear();
    this.#resolveClosed(error);
    this.dispatchEvent(new RedialCloseEvent(error));
  }
}
