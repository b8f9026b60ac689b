/**
 * The smux session adapter: drives a {@link SmuxMachine} over a {@link ByteConn}
 * (in Snowflake, a KCP session); the machine owns every protocol decision. See
 * KCP-SMUX.md §8 for the behaviour.
 *
 * Over a conn that can drive the machine itself (a {@link MachineHost}: a
 * KcpSession), the session hands the machine over: the conn's one loop and one
 * timer then run both layers, frames and bytes pass by plain calls, and this
 * adapter keeps only the streams' side (waking readers, writers, accepts).
 * Over any other conn, it owns the I/O and one timer:
 *
 * - Receive: one loop reads the conn while the machine wants input (it stops
 *   while the receive bucket is empty: back-pressure to the peer).
 * - Transmit: one loop hands the machine's frames to `conn.write`, one frame
 *   (header and payload in one array) per call, awaiting each for back-pressure.
 * - Time: the clock is read once per wake-up; one timer is armed for the
 *   machine's next deadline (keepalive).
 *
 * ```ts
 * import type { ByteConn } from "../net/byte_conn.ts";
 *
 * async function firstStream(kcpSession: ByteConn) {
 *   const session = SmuxSession.client(kcpSession); // SNOWFLAKE_SMUX_CLIENT
 *   return await session.openStream(); // id 3
 * }
 * ```
 */

import type { ByteConn } from "../net/byte_conn.ts";
import { isMachineHost, type MachineLink } from "../net/machine_host.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { type SmuxConfig, SNOWFLAKE_SMUX_CLIENT, SNOWFLAKE_SMUX_SERVER } from "./config.ts";
import type { SmuxError } from "./error.ts";
import { type SmuxEvent, SmuxMachine, type SmuxRole } from "./machine.ts";
import { SmuxStream, type StreamDriver } from "./stream.ts";

/** Settings of a {@link SmuxSession} beyond its {@link SmuxConfig}. */
export interface SmuxSessionOptions {
  /** Time source (default: the system's monotonic clock). */
  clock?: Clock;
  /** Where the session's end is logged: bad frames as warnings, timeouts and conn failures as info. Default: nowhere. */
  logger?: Logger;
}

interface HandoverWaiter {
  frame: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface StreamWaiters {
  readers: (() => void)[];
  writers: (() => void)[];
}

/**
 * An smux session over a {@link ByteConn}: the adapter around the sans-I/O SmuxMachine that owns the conn and the keepalive timer, and opens and accepts {@link SmuxStream}s.
 */
export class SmuxSession {
  readonly #machine: SmuxMachine;
  readonly #conn: ByteConn;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #driver: StreamDriver;
  readonly #waiters = new Map<number, StreamWaiters>();
  #acceptWaiters: (() => void)[] = [];
  #inputWaiter: (() => void) | null = null;
  #flushing = false;
  #framesHandedOver = 0; // data frames whose conn.write resolved
  #handoverWaiters: HandoverWaiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDeadline = Infinity;
  /** The conn's loop, when the conn drives the machine (see the module doc); null: this adapter's own loops. */
  #link: MachineLink | null = null;
  #resolveClosed!: () => void;
  /** Resolves once the session has ended (closed locally, failed or timed out). */
  readonly closed: Promise<void> = new Promise((resolve) => this.#resolveClosed = resolve);

  /** A client session (stream ids 3, 5, …); `config` overrides {@link SNOWFLAKE_SMUX_CLIENT}. */
  static client(
    conn: ByteConn,
    config: Partial<SmuxConfig> = {},
    options: SmuxSessionOptions = {},
  ): SmuxSession {
    return new SmuxSession("client", conn, { ...SNOWFLAKE_SMUX_CLIENT, ...config }, options);
  }

  /** A server session (stream ids 2, 4, …); `config` overrides {@link SNOWFLAKE_SMUX_SERVER}. */
  static server(
    conn: ByteConn,
    config: Partial<SmuxConfig> = {},
    options: SmuxSessionOptions = {},
  ): SmuxSession {
    return new SmuxSession("server", conn, { ...SNOWFLAKE_SMUX_SERVER, ...config }, options);
  }

  private constructor(role: SmuxRole, conn: ByteConn, config: SmuxConfig, options: SmuxSessionOptions) {
    this.#conn = conn;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#machine = new SmuxMachine(role, config, this.#clock.now());
    this.#driver = {
      read: (id) => this.#read(id),
      write: (id, data) => this.#write(id, data),
      close: (id) => {
        this.#machine.closeStream(id);
        this.#wakeStream(id);
        this.#service();
      },
    };
    if (isMachineHost(conn)) {
      this.#link = conn.drive(this.#machine, this.#afterService);
    } else {
      this.#receiveLoop();
      this.#service();
    }
  }

  /** Why the session ended, or null while open and after a local close. */
  get error(): SmuxError | null {
    return this.#machine.error;
  }

  /** Whether the session has ended (see {@link closed} to wait for it). */
  get isClosed(): boolean {
    return this.#machine.closed;
  }

  /** Opens a stream; resolves once its SYN is handed to the conn. Rejects with SmuxError("go-away") when ids run out. */
  async openStream(): Promise<SmuxStream> {
    const id = this.#machine.openStream();
    const stream = new SmuxStream(id, this.#driver);
    await this.#handover();
    return stream;
  }

  /** The next stream the peer opens; null once the session has ended (see {@link error}). */
  async acceptStream(): Promise<SmuxStream | null> {
    for (;;) {
      const id = this.#machine.acceptStream();
      if (id !== null) {
        this.#service();
        return new SmuxStream(id, this.#driver);
      }
      if (this.#machine.closed) return null;
      await new Promise<void>((resolve) => this.#acceptWaiters.push(resolve));
    }
  }

  /** Ends the session: queued frames (a FIN just sent, say) go out, then the conn is closed. No FIN for open streams. */
  close(): void {
    this.#machine.close();
    this.#service();
  }

  async #read(id: number): Promise<Uint8Array | null> {
    for (;;) {
      const data = this.#machine.readStream(id);
      if (data !== undefined) {
        this.#service();
        return data;
      }
      await new Promise<void>((resolve) => this.#streamWaiters(id).readers.push(resolve));
    }
  }

  async #write(id: number, data: Uint8Array): Promise<void> {
    let offset = 0;
    do {
      const n = this.#machine.writeStream(id, data, offset);
      if (n > 0) {
        offset += n;
        await this.#handover();
      } else if (offset < data.length) {
        await new Promise<void>((resolve) => this.#streamWaiters(id).writers.push(resolve));
      }
    } while (offset < data.length);
  }

  /** Resolves when every data frame queued so far has been written to the conn; rejects if the session fails first. */
  #handover(): Promise<void> {
    const frame = this.#machine.dataFramesQueued;
    this.#service();
    const error = this.#machine.error;
    if (error !== null) return Promise.reject(error); // failed during that service (a conn.write that threw at once)
    if (this.#framesHandedOver >= frame || this.#machine.closed) return Promise.resolve();
    return new Promise((resolve, reject) => this.#handoverWaiters.push({ frame, resolve, reject }));
  }

  /** Drains the machine's events and frames, and re-arms the timer. Call after every machine call. */
  #service(now?: number): void {
    if (this.#link !== null) return this.#link.service(); // the conn's loop ends with #afterService
    const machine = this.#machine;
    for (let event = machine.pollEvent(); event !== null; event = machine.pollEvent()) this.#dispatch(event);
    if (machine.closed) return;
    if (!this.#flushing && machine.transmitPending) this.#transmitLoop();
    if (this.#inputWaiter !== null && machine.wantsInput()) this.#wakeInput();
    this.#armTimer(now);
  }

  /** The end of each pass of the conn's loop, when it drives the machine: events out, frames it took handed over. */
  #afterService = (): void => {
    const machine = this.#machine;
    for (let event = machine.pollEvent(); event !== null; event = machine.pollEvent()) this.#dispatch(event);
    this.#handedOver(machine.dataFramesTaken);
  };

  #dispatch(event: SmuxEvent): void {
    switch (event.type) {
      case "incoming":
        for (const wake of this.#acceptWaiters.splice(0)) wake();
        return;
      case "readable":
        this.#wake(event.id, "readers");
        return;
      case "writable":
        this.#wake(event.id, "writers");
        return;
      case "drained":
        for (const id of [...this.#waiters.keys()]) this.#wake(id, "writers");
        return;
      case "closed":
        this.#onClosed(event.error);
        return;
    }
  }

  async #receiveLoop(): Promise<void> {
    const machine = this.#machine;
    try {
      while (!machine.closed) {
        if (!machine.wantsInput()) {
          await new Promise<void>((resolve) => this.#inputWaiter = resolve);
          continue;
        }
        const chunk = await this.#conn.read();
        if (machine.closed) return;
        if (chunk === null) machine.handleInputEnd();
        else machine.handleInput(chunk);
        this.#service();
      }
    } catch (error) {
      machine.handleInputEnd(error);
      this.#service();
    }
  }

  async #transmitLoop(): Promise<void> {
    const machine = this.#machine;
    this.#flushing = true;
    try {
      for (let frame = machine.pollTransmit(); frame !== null; frame = machine.pollTransmit()) {
        const taken = machine.dataFramesTaken;
        this.#service(); // pollTransmit may have freed room for blocked writers
        await this.#conn.write(frame);
        this.#handedOver(taken);
      }
    } catch (error) {
      machine.handleTransmitError(error);
    } finally {
      this.#flushing = false;
    }
    this.#service();
  }

  #handedOver(frames: number): void {
    if (frames <= this.#framesHandedOver) return;
    this.#framesHandedOver = frames;
    let done = 0;
    while (done < this.#handoverWaiters.length && this.#handoverWaiters[done].frame <= frames) {
      this.#handoverWaiters[done++].resolve();
    }
    if (done > 0) this.#handoverWaiters.splice(0, done);
  }

  #onClosed(error: SmuxError | null): void {
    const machine = this.#machine;
    if (error === null) {
      // Local close: what is already queued (a FIN, say) still goes out, without waiting; a driving conn took
      // what its send window allowed, and drops the rest as a write it would refuse.
      for (let frame = machine.pollTransmit(); frame !== null; frame = machine.pollTransmit()) {
        if (this.#link !== null) continue;
        this.#conn.write(frame).catch(() => {}); // the conn is closed just below; a late failure changes nothing
      }
      this.#handedOver(machine.dataFramesTaken);
      this.#logger?.debug("smux: session closed");
    } else {
      for (const waiter of this.#handoverWaiters.splice(0)) waiter.reject(error);
      this.#log(error);
    }
    this.#conn.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const wake of this.#acceptWaiters.splice(0)) wake();
    for (const id of [...this.#waiters.keys()]) this.#wakeStream(id);
    this.#wakeInput();
    this.#resolveClosed();
  }

  /** Arms the one timer for the machine's deadline; `now` when the caller has just read the clock. */
  #log(error: SmuxError): void {
    const line = `${error.message}; session closed`;
    switch (error.code) {
      case "invalid-version":
      case "unknown-command":
        this.#logger?.warn(line); // the peer is broken or hostile
        return;
      case "connection-ended":
        this.#logger?.debug(line); // the layer below ended first: an ordinary teardown
        return;
      default:
        this.#logger?.info(line);
    }
  }

  #armTimer(now?: number): void {
    const deadline = this.#machine.pollTimeout();
    if (deadline === this.#timerDeadline) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDeadline = deadline;
    if (deadline === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDeadline = Infinity;
      const now = this.#clock.now(); // once per wake-up
      this.#machine.handleTimeout(now);
      this.#service(now);
    }, Math.max(1, deadline - (now ?? this.#clock.now())));
  }

  #streamWaiters(id: number): StreamWaiters {
    let waiters = this.#waiters.get(id);
    if (waiters === undefined) {
      waiters = { readers: [], writers: [] };
      this.#waiters.set(id, waiters);
    }
    return waiters;
  }

  #wake(id: number, which: "readers" | "writers"): void {
    const waiters = this.#waiters.get(id);
    if (waiters === undefined || waiters[which].length === 0) return;
    const wakes = waiters[which];
    waiters[which] = [];
    if (waiters.readers.length === 0 && waiters.writers.length === 0) this.#waiters.delete(id);
    for (const wake of wakes) wake();
  }

  #wakeStream(id: number): void {
    this.#wake(id, "readers");
    this.#wake(id, "writers");
  }

  #wakeInput(): void {
    const wake = this.#inputWaiter;
    this.#inputWaiter = null;
    wake?.();
  }
}
