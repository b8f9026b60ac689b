/**
 * A KCP conversation as a {@link ByteConn}: the I/O adapter around one
 * {@link Arq}, behaving like kcp-go's UDPSession (KCP-SMUX.md §4.5, §4.14):
 *
 * - each write is queued whole when kcp-go's WaitSnd gate is open and flushed at
 *   once (Snowflake never sets writeDelay); the write resolves when the gate is
 *   open again, so a writer that awaits each write is held back;
 * - each input packet may trigger an immediate flush (una advanced); packets
 *   read as a batch (packet_conn_extensions.ts) are all taken in first, then
 *   flushed and delivered once;
 * - one loop and one timer: every wake-up (input, write, timer) reads the
 *   clock once, moves data, sends what the Arq has (pollTransmit runs the
 *   flushes input and writes asked for), and arms the one timer for the
 *   earliest pollTimeout(); the timer runs the Arq's handleTimeout (kcp-go's
 *   update loop, and the trim of an idle machine: arq.ts);
 * - the layer above may hand its machine to the session (a MachineHost,
 *   lib/net/machine_host.ts; SmuxSession does): the same loop then drives both
 *   machines, bytes move between them by plain calls, and the one timer covers
 *   both deadlines (smux keepalive beside KCP's).
 *
 * Bounds (a peer that stops reading or acking cannot grow us without limit):
 * - send: writes are admitted while WaitSnd < min(sndWnd, rmtWnd) (kcp-go) and
 *   fewer than `maxSendBytes` (default 4 MiB) payload bytes are queued or
 *   unacknowledged (ours); beyond that, write() waits (a driven machine's
 *   pollTransmit is not called). Memory ≤ maxSendBytes + one write.
 * - receive: `maxRecvBytes` (default 4 MiB), see receive_buffer.ts; a driven
 *   machine gets data only while it wantsInput().
 * - concurrent read()/write() calls wait in FIFO order; each holds only its own data.
 *
 * Malformed packets are dropped (what kcp-go does), counted in `stats`, and
 * logged; they never close the session or throw.
 */

import type { ByteConn } from "../net/byte_conn.ts";
import type { MachineLink, UpperMachine } from "../net/machine_host.ts";
import { ConnClosedError, type PacketConn } from "../net/packet_conn.ts";
import { type Clock, systemClock, systemTimers, type Timers } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { Arq } from "./arq.ts";
import { KcpError } from "./error.ts";
import { type KcpOptions, MTU_LIMIT, SNOWFLAKE_KCP_OPTIONS } from "./options.ts";
import { isLogWorthy } from "./log_throttle.ts";
import { type ExtendedPacketConn, readPackets } from "./packet_conn_extensions.ts";
import { readU32 } from "./u32.ts";

/** Default payload bytes a session may hold unacknowledged on the send side, and unread on the receive side. */
export const DEFAULT_MAX_SEND_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_RECV_BYTES = 4 * 1024 * 1024;
/** Default quiet time (ms, no input or write) after which an idle session gives back its grown pools (ours). */
export const DEFAULT_IDLE_TRIM_MS = 1000;

/** Settings of a {@link KcpSession}. */
export interface KcpSessionOptions {
  /** KCP settings; default {@link SNOWFLAKE_KCP_OPTIONS}. */
  kcp?: Partial<KcpOptions>;
  /** Send-side byte bound (see the module doc); default 4 MiB. */
  maxSendBytes?: number;
  /** Receive-side byte bound (see receive_buffer.ts); default 4 MiB. */
  maxRecvBytes?: number;
  /** Quiet ms after which an idle session trims its pools and rings (see the module doc); default 1000. */
  idleTrimMs?: number;
  /** Time source; default the system's monotonic clock. */
  clock?: Clock;
  /** Where the session's one timer is armed (default: the runtime's). */
  timers?: Timers;
  /** Where the session's errors are logged; default nowhere. */
  logger?: Logger;
}

/** Settings of a dialed {@link KcpSession} ({@link KcpSession.dial}). */
export interface KcpDialOptions extends KcpSessionOptions {
  /** Conversation id; default 4 random bytes read little-endian, as kcp-go's NewConn2. */
  conv?: number;
  /** Close `conn` when the session closes. Default false, as kcp-go's NewConn2 (the caller owns the conn). */
  ownConn?: boolean;
}

/** What a session has counted. */
export interface KcpSessionStats {
  /** Packets read from the conn for this session. */
  packetsIn: number;
  /** Packets dropped in whole or part as malformed (kcp-go Input ≠ 0) or from a second source address. */
  inputErrors: number;
  /** The latest such error. */
  lastError: KcpError | null;
}

interface PendingWrite {
  /** Data not yet admitted; null once queued in the Arq. */
  data: Uint8Array | null;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Hooks a listener gives the sessions it creates. */
export interface KcpSessionHost {
  onClose(session: KcpSession): void;
}

/**
 * One KCP conversation as a {@link ByteConn} (kcp-go `UDPSession`): the adapter that owns the Arq state machine's one
 * timer and the conn, and drives the machine of the layer above when handed one (a MachineHost); see the module doc.
 */
export class KcpSession implements ByteConn {
  /** Conversation id (KCP `conv`). */
  readonly conv: number;
  /** The peer's address on the PacketConn. */
  readonly remoteAddr: string;
  /** Resolves once the session is closed. */
  readonly closed: Promise<void>;
  /** Counts since the session started; read at any time. */
  readonly stats: KcpSessionStats = { packetsIn: 0, inputErrors: 0, lastError: null };
  readonly #arq: Arq;
  readonly #conn: PacketConn;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #logger: Logger | undefined;
  readonly #maxSendBytes: number;
  readonly #host: KcpSessionHost | undefined;
  readonly #ownConn: boolean;
  #resolveClosed!: () => void;
  #isClosed = false;
  #outputError: unknown = null;
  #timer: unknown = undefined;
  /** When the armed timer fires; Infinity when none is armed. */
  #timerAt = Infinity;
  #servicing = false;
  #serviceAgain = false;
  #lastInputAt: number;
  #readers: ((data: Uint8Array | null) => void)[] = [];
  #writers: PendingWrite[] = [];
  /** The machine of the layer above, once it is driven here ({@link drive}). */
  #upper: UpperMachine | null = null;
  #serviced: () => void = () => {};

  /**
   * A session over `conn` talking to `remoteAddr` with conversation `conv`.
   * Packets from the peer must be handed to {@link input}: {@link KcpSession.dial}
   * and {@link KcpListener} do that.
   */
  constructor(
    conn: PacketConn,
    remoteAddr: string,
    conv: number,
    options: KcpSessionOptions = {},
    internal: { host?: KcpSessionHost; ownConn?: boolean } = {},
  ) {
    this.conv = conv >>> 0;
    this.remoteAddr = remoteAddr;
    this.#conn = conn;
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#logger = options.logger;
    this.#maxSendBytes = options.maxSendBytes ?? DEFAULT_MAX_SEND_BYTES;
    this.#arq = new Arq(conv, options.kcp ?? SNOWFLAKE_KCP_OPTIONS, {
      maxRecvBytes: options.maxRecvBytes ?? DEFAULT_MAX_RECV_BYTES,
      reusePacketBuffer: (conn as ExtendedPacketConn).copiesOnWrite === true,
      idleTrimMs: options.idleTrimMs ?? DEFAULT_IDLE_TRIM_MS,
    });
    this.#host = internal.host;
    this.#ownConn = internal.ownConn ?? false;
    this.#lastInputAt = this.#clock.now();
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /**
   * A client session over `conn` (kcp-go NewConn2): a random conv, and a read
   * loop that feeds it every packet from the first source address seen.
   */
  static dial(conn: PacketConn, remoteAddr: string, options: KcpDialOptions = {}): KcpSession {
    const session = new KcpSession(conn, remoteAddr, options.conv ?? randomConv(), options, {
      ownConn: options.ownConn,
    });
    session.#readLoop();
    return session;
  }

  /**
   * The state machine, for inspection (RTO, windows).
   * @ignore
   */
  get arq(): Arq {
    return this.#arq;
  }

  /** Whether {@link close} was called or the session failed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Clock time of the last packet from the peer (or of creation). */
  get lastInputAt(): number {
    return this.#lastInputAt;
  }

  /** Whether the session's one timer is armed (whatever it drives: KCP's update loop, idle trim, smux keepalive). */
  get timerArmed(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Ready bytes in one chunk, up to about 64 KiB (receive_buffer.ts; message mode: one message, as kcp-go's Read);
   * waits while none; null once closed and drained.
   */
  read(): Promise<Uint8Array | null> {
    if (this.#upper !== null) return Promise.reject(new Error("kcp: session is driven by the layer above"));
    const data = this.#readReady();
    if (data !== null) {
      // the read may have reopened the window: the update loop must run for the WINS
      if (!this.#servicing && this.#arq.pollTimeout() < this.#timerAt) this.#armTimer(this.#clock.now());
      return Promise.resolve(data);
    }
    if (this.#isClosed) return Promise.resolve(null);
    return new Promise((resolve) => this.#readers.push(resolve));
  }

  /**
   * Queues `data` (kept by reference) and flushes; resolves when the session can
   * take more. Rejects with ConnClosedError once closed.
   */
  write(data: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(new ConnClosedError("KCP session"));
    if (this.#upper !== null) return Promise.reject(new Error("kcp: session is driven by the layer above"));
    if (data.length === 0) return Promise.resolve();
    if (this.#writers.length === 0 && this.#canWrite()) {
      const now = this.#clock.now();
      this.#admit(data, now);
      this.#service(now);
      if (this.#canWrite() || this.#isClosed) return Promise.resolve();
      return new Promise((resolve, reject) => this.#writers.push({ data: null, resolve, reject }));
    }
    return new Promise((resolve, reject) => this.#writers.push({ data, resolve, reject }));
  }

  /**
   * MachineHost's `drive` (lib/net/machine_host.ts; implemented structurally, so that the public API need not
   * document the machine interface): from now on the session's loop drives `machine`. SmuxSession calls it.
   * @ignore
   */
  drive(machine: UpperMachine, serviced: () => void): MachineLink {
    if (this.#upper !== null || this.#readers.length > 0 || this.#writers.length > 0) {
      throw new Error("kcp: session already has a reader, writer or driven machine");
    }
    this.#upper = machine;
    this.#serviced = serviced;
    const link = { service: () => this.#service(this.#clock.now()) };
    if (this.#isClosed) {
      this.#endUpper();
      serviced();
    } else {
      link.service();
    }
    return link;
  }

  /**
   * Feeds one packet from the peer (kcp-go packetInput). Packets over 1500
   * bytes are cut there, as kcp-go's receive buffer does (§1.4).
   */
  input(packet: Uint8Array): void {
    if (this.#isClosed) return;
    const now = this.#clock.now();
    this.inputOnly(packet, now);
    this.#service(now);
  }

  /**
   * The first half of {@link input}, for a caller feeding a batch of packets
   * read at `now`: the packet goes into the machine, and the flush, delivery
   * and timer wait for {@link settleInput}, which must follow the batch.
   */
  inputOnly(packet: Uint8Array, now: number): void {
    if (this.#isClosed) return;
    this.#lastInputAt = now;
    this.stats.packetsIn++;
    if (packet.length > MTU_LIMIT) packet = packet.subarray(0, MTU_LIMIT);
    const error = this.#arq.handleInput(now, packet);
    if (error !== null) this.#noteInputError(error);
  }

  /** The second half of {@link input}: one pass of the session's loop (flush, delivery, timer). */
  settleInput(now: number): void {
    this.#service(now);
  }

  /**
   * Closes the session: a last flush (as kcp-go's Close), then unsent and
   * unacknowledged data is dropped; nothing special goes on the wire (KCP has no
   * close message). Data already received stays readable (a driven machine is
   * given what it takes, then told the conn ended). Idempotent.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#arq.close(this.#clock.now());
    this.#transmit();
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const reader of this.#readers.splice(0)) reader(this.#readReady());
    for (const writer of this.#writers.splice(0)) writer.reject(new ConnClosedError("KCP session"));
    if (this.#upper !== null) {
      this.#endUpper();
      if (!this.#servicing) this.#serviced(); // else the loop's pass ends with it
    }
    this.#host?.onClose(this);
    if (this.#ownConn) this.#conn.close();
    this.#resolveClosed();
  }

  async #readLoop(): Promise<void> {
    let source: string | null = null;
    for (;;) {
      let received;
      try {
        received = await readPackets(this.#conn);
      } catch (error) {
        this.#logger?.warn(`kcp: session ${this.conv}: reading the packet connection failed: ${error}`);
        received = null;
      }
      if (this.#isClosed) return;
      if (received === null) {
        this.#logger?.debug(`kcp: session ${this.conv}: packet connection ended; closing`);
        this.close();
        return;
      }
      const now = this.#clock.now();
      for (const { packet, addr } of Array.isArray(received) ? received : [received]) {
        // kcp-go's client read loop keeps to the first source address (readloop.go)
        source ??= addr;
        if (addr !== source) {
          this.#noteInputError(new KcpError("foreign-source", `packet from ${addr}, expected ${source}`));
          continue;
        }
        this.inputOnly(packet, now);
      }
      this.#service(now);
    }
  }

  /**
   * One pass of the session's loop at `now` (repeated when a call inside asks
   * for another), in kcp-go's order: the flush that input asked for, before any
   * new write (a flush with no new data may retransmit early, §4.6); the driven
   * machine's deadline; bytes up, then down, each write flushed at once (or the
   * ByteConn's readers and writers); then the one timer. KCP's own deadline
   * (its update loop) is run by the timer only (arq.ts).
   */
  #service(now: number): void {
    if (this.#isClosed) return;
    if (this.#servicing) {
      this.#serviceAgain = true;
      return;
    }
    this.#servicing = true;
    const arq = this.#arq;
    try {
      do {
        this.#serviceAgain = false;
        this.#transmit();
        const upper = this.#upper;
        if (upper !== null) {
          if (upper.pollTimeout() <= now) upper.handleTimeout(now);
          for (let data; upper.wantsInput() && (data = this.#readReady()) !== null;) upper.handleInput(data);
          for (let frame; this.#canWrite() && (frame = upper.pollTransmit()) !== null;) {
            this.#admit(frame, now);
            this.#transmit();
          }
          this.#serviced();
        } else {
          if (this.#readers.length > 0 && arq.readableBytes > 0) this.#deliver();
          if (this.#writers.length > 0) this.#wakeWriters(now);
        }
      } while (this.#serviceAgain && !this.#isClosed);
    } finally {
      this.#servicing = false;
    }
    this.#armTimer(now);
  }

  /** Arms the one timer for the earliest deadline, unless one is armed no later (an early wake-up re-arms). */
  #armTimer(now: number): void {
    if (this.#isClosed) return;
    const deadline = Math.min(this.#arq.pollTimeout(), this.#upper?.pollTimeout() ?? Infinity);
    if (deadline >= this.#timerAt) return;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = this.#timers.setTimeout(this.#onTimer, deadline > now ? deadline - now : 0);
  }

  /** The one timer: KCP's update loop (and idle trim) when due, then a pass, which runs the driven machine's. */
  #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#isClosed) return;
    const now = this.#clock.now();
    if (this.#arq.pollTimeout() <= now) this.#arq.handleTimeout(now);
    this.#service(now);
  };

  /** Hands every packet the Arq has (running the flush input or a write asked for) to the conn; a failed send closes the session. */
  #transmit(): void {
    const arq = this.#arq;
    for (let packet = arq.pollTransmit(); packet !== null; packet = arq.pollTransmit()) {
      if (this.#outputError !== null) continue;
      try {
        this.#conn.writeTo(packet, this.remoteAddr);
      } catch (error) {
        this.#outputError = error;
      }
    }
    if (this.#outputError !== null && !this.#isClosed) {
      this.#logger?.warn(`kcp: session ${this.conv}: sending failed, closing: ${this.#outputError}`);
      this.close();
    }
  }

  /** The driven machine gets what it takes of the data left, then the end. */
  #endUpper(): void {
    const upper = this.#upper!;
    for (let data; upper.wantsInput() && (data = this.#readReady()) !== null;) upper.handleInput(data);
    upper.handleInputEnd(this.#outputError ?? undefined);
  }

  #readReady(): Uint8Array | null {
    const arq = this.#arq;
    for (;;) {
      const data = arq.read();
      if (data === null) return null;
      if (data.length !== 0) return data; // an empty message (message mode): nothing for a byte stream
    }
  }

  #deliver(): void {
    while (this.#readers.length > 0) {
      const data = this.#readReady();
      if (data === null) return;
      this.#readers.shift()!(data);
    }
  }

  #canWrite(): boolean {
    return this.#arq.sendWindowOpen && this.#arq.sendBytes < this.#maxSendBytes;
  }

  /** Queues a write in the Arq (cut into mss pieces in message mode, as kcp-go's WriteBuffers); #transmit flushes it. */
  #admit(data: Uint8Array, now: number): void {
    const arq = this.#arq;
    if (arq.options.streamMode) {
      arq.send(data, now);
    } else {
      for (let offset = 0; offset < data.length; offset += arq.mss) {
        arq.send(data.subarray(offset, offset + arq.mss), now);
      }
    }
  }

  /** Admits waiting writes while the gate is open, each flushed at once (kcp-go's Write). */
  #wakeWriters(now: number): void {
    while (this.#writers.length > 0 && this.#canWrite() && !this.#isClosed) {
      const writer = this.#writers[0];
      if (writer.data !== null) {
        const data = writer.data;
        writer.data = null;
        this.#admit(data, now);
        this.#transmit();
        if (this.#isClosed || !this.#canWrite()) return; // a failed send closes the session and rejects the writers
      }
      this.#writers.shift();
      writer.resolve();
    }
  }

  #noteInputError(error: KcpError): void {
    const count = ++this.stats.inputErrors;
    this.stats.lastError = error;
    if (isLogWorthy(count)) {
      this.#logger?.warn(
        `kcp: session ${this.conv}: dropped input from ${this.remoteAddr}: ${error.message} (${count} so far)`,
      );
    }
  }
}

/** A random conversation id: 4 bytes from the system CSPRNG read little-endian (kcp-go NewConn2). */
export function randomConv(): number {
  return readU32(crypto.getRandomValues(new Uint8Array(4)), 0);
}
