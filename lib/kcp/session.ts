/**
 * A KCP conversation as a {@link ByteConn}: the I/O adapter around one
 * {@link Arq}, behaving like kcp-go's UDPSession (KCP-SMUX.md §4.5, §4.14):
 *
 * - each write is queued whole when kcp-go's WaitSnd gate is open and flushed at
 *   once (Snowflake never sets writeDelay); the write resolves when the gate is
 *   open again, so a writer that awaits each write is held back;
 * - each input packet may trigger an immediate flush (una advanced); packets
 *   read as a batch (packet_conn_extensions.ts) are all taken in first, then flushed and
 *   delivered once;
 * - one timer per session replays kcp-go's update loop: flush, then sleep for
 *   what flush returned (≤ interval); it stops while the machine is idle and
 *   restarts on the next input or write;
 * - the clock is read once per wake-up (input, write, timer) and passed down;
 * - once the machine has been idle for `idleTrimMs` (nothing unacked, queued or
 *   unread), a one-shot timer lets the machine give back what traffic grew
 *   (segment pool, rings: Arq.trim), so an idle session stays small. It is armed
 *   only when the update timer stops with something to give back, so bulk
 *   transfer never pays for it.
 *
 * Bounds (a peer that stops reading or acking cannot grow us without limit):
 * - send: writes are admitted while WaitSnd < min(sndWnd, rmtWnd) (kcp-go) and
 *   fewer than `maxSendBytes` (default 4 MiB) payload bytes are queued or
 *   unacknowledged (ours); beyond that, write() waits. Memory ≤ maxSendBytes +
 *   one write.
 * - receive: `maxRecvBytes` (default 4 MiB), see receive_buffer.ts.
 * - concurrent read()/write() calls wait in FIFO order; each holds only its own data.
 *
 * Malformed packets are dropped (what kcp-go does), counted in `stats`, and
 * logged; they never close the session or throw.
 */

import type { ByteConn } from "../net/byte_conn.ts";
import { ConnClosedError, type PacketConn } from "../net/packet_conn.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { Arq } from "./arq.ts";
import { inputError, KcpError } from "./error.ts";
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
 * One KCP conversation as a {@link ByteConn} (kcp-go `UDPSession`): the adapter that owns the Arq state machine's timer and the conn; see the module doc.
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
  readonly #logger: Logger | undefined;
  readonly #maxSendBytes: number;
  readonly #idleTrimMs: number;
  readonly #host: KcpSessionHost | undefined;
  readonly #ownConn: boolean;
  readonly #output: (packet: Uint8Array) => void;
  #resolveClosed!: () => void;
  #isClosed = false;
  #outputError: unknown = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #nextWake = 0;
  #trimTimer: ReturnType<typeof setTimeout> | undefined;
  /** Clock time of the last input or write: the trim waits for idleTrimMs of quiet after it. */
  #lastActivityAt: number;
  #lastInputAt: number;
  #readers: ((data: Uint8Array | null) => void)[] = [];
  #writers: PendingWrite[] = [];

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
    this.#logger = options.logger;
    this.#maxSendBytes = options.maxSendBytes ?? DEFAULT_MAX_SEND_BYTES;
    this.#idleTrimMs = options.idleTrimMs ?? DEFAULT_IDLE_TRIM_MS;
    this.#arq = new Arq(conv, options.kcp ?? SNOWFLAKE_KCP_OPTIONS, {
      maxRecvBytes: options.maxRecvBytes ?? DEFAULT_MAX_RECV_BYTES,
      reusePacketBuffer: (conn as ExtendedPacketConn).copiesOnWrite === true,
    });
    this.#host = internal.host;
    this.#ownConn = internal.ownConn ?? false;
    this.#lastInputAt = this.#lastActivityAt = this.#clock.now();
    this.#output = (packet) => {
      if (this.#outputError !== null) return;
      try {
        this.#conn.writeTo(packet, this.remoteAddr);
      } catch (error) {
        this.#outputError = error;
      }
    };
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

  /**
   * Ready bytes in one chunk, up to about 64 KiB (receive_buffer.ts; message mode: one message, as kcp-go's Read);
   * waits while none; null once closed and drained.
   */
  read(): Promise<Uint8Array | null> {
    const data = this.#readReady();
    if (data !== null) return Promise.resolve(data);
    if (this.#isClosed) return Promise.resolve(null);
    return new Promise((resolve) => this.#readers.push(resolve));
  }

  /**
   * Queues `data` (kept by reference) and flushes; resolves when the session can
   * take more. Rejects with ConnClosedError once closed.
   */
  write(data: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(new ConnClosedError("KCP session"));
    if (data.length === 0) return Promise.resolve();
    if (this.#writers.length === 0 && this.#canWrite()) {
      this.#admit(data);
      if (this.#canWrite() || this.#isClosed) return Promise.resolve();
      return new Promise((resolve, reject) => this.#writers.push({ data: null, resolve, reject }));
    }
    return new Promise((resolve, reject) => this.#writers.push({ data, resolve, reject }));
  }

  /**
   * Feeds one packet from the peer (kcp-go packetInput). Packets over 1500
   * bytes are cut there, as kcp-go's receive buffer does (§1.4).
   */
  input(packet: Uint8Array): void {
    if (this.#isClosed) return;
    const now = this.#clock.now();
    this.inputOnly(packet, now);
    this.settleInput(now);
  }

  /**
   * The first half of {@link input}, for a caller feeding a batch of packets
   * read at `now`: the packet goes into the machine, and the flush, delivery
   * and timer wait for {@link settleInput}, which must follow the batch.
   */
  inputOnly(packet: Uint8Array, now: number): void {
    if (this.#isClosed) return;
    this.#lastInputAt = this.#lastActivityAt = now;
    this.stats.packetsIn++;
    if (packet.length > MTU_LIMIT) packet = packet.subarray(0, MTU_LIMIT);
    const code = this.#arq.input(packet, now);
    if (code !== 0) this.#noteInputError(inputError(code, packet.length));
  }

  /** The second half of {@link input}: flushes if the input asked for it, delivers, wakes writers, arms the timer. */
  settleInput(now: number): void {
    if (this.#isClosed) return;
    const arq = this.#arq;
    if (arq.flushNeeded) this.#flush(now);
    if (this.#readers.length > 0 && arq.readableBytes > 0) this.#deliver();
    if (this.#writers.length > 0) this.#wakeWriters();
    this.#startTimer(now);
  }

  /**
   * Closes the session: a last flush (as kcp-go's Close), then unsent and
   * unacknowledged data is dropped; nothing special goes on the wire (KCP has no
   * close message). Data already received stays readable. Idempotent.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#outputError === null) this.#arq.flush(this.#clock.now(), this.#output);
    this.#arq.releaseSend();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#trimTimer !== undefined) clearTimeout(this.#trimTimer);
    this.#trimTimer = undefined;
    for (const reader of this.#readers.splice(0)) reader(this.#readReady());
    for (const writer of this.#writers.splice(0)) writer.reject(new ConnClosedError("KCP session"));
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
      this.settleInput(now);
    }
  }

  #readReady(): Uint8Array | null {
    const arq = this.#arq;
    for (;;) {
      const data = arq.read();
      if (data === null) return null;
      if (data.length === 0) continue; // an empty message (message mode): nothing for a byte stream
      // the read may have queued a WINS: make sure a flush comes
      if (this.#timer === undefined && !this.#isClosed && !arq.idle) this.#startTimer(this.#clock.now());
      return data;
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

  /** Queues a write in the Arq (cut into mss pieces in message mode, as kcp-go's WriteBuffers) and flushes. */
  #admit(data: Uint8Array): void {
    const arq = this.#arq;
    if (arq.options.streamMode) {
      arq.send(data);
    } else {
      for (let offset = 0; offset < data.length; offset += arq.mss) {
        arq.send(data.subarray(offset, offset + arq.mss));
      }
    }
    const now = this.#clock.now();
    this.#lastActivityAt = now;
    this.#flush(now);
    this.#startTimer(now);
  }

  #wakeWriters(): void {
    while (this.#writers.length > 0 && this.#canWrite() && !this.#isClosed) {
      const writer = this.#writers[0];
      if (writer.data !== null) {
        const data = writer.data;
        writer.data = null;
        this.#admit(data);
        if (this.#isClosed || !this.#canWrite()) return; // a failed send closes the session and rejects the writers
      }
      this.#writers.shift();
      writer.resolve();
    }
  }

  #flush(now: number): number {
    const wake = this.#arq.flush(now, this.#output);
    if (this.#outputError !== null) {
      this.#logger?.warn(`kcp: session ${this.conv}: sending failed, closing: ${this.#outputError}`);
      this.close();
    }
    return wake;
  }

  /** Arms the update timer unless it is armed, the session closed, or the machine idle (then maybe the trim timer). */
  #startTimer(now: number): void {
    if (this.#timer !== undefined || this.#isClosed) return;
    if (this.#arq.idle) {
      this.#startTrimTimer(now);
      return;
    }
    // after an idle spell, wait one interval as kcp-go's ever-running update loop would at most
    const delay = this.#nextWake > now ? this.#nextWake - now : this.#arq.options.interval;
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  /** kcp-go's update(): flush, wake writers, sleep for what flush returned. */
  #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#isClosed) return;
    const now = this.#clock.now();
    this.#nextWake = this.#flush(now);
    if (this.#writers.length > 0) this.#wakeWriters();
    this.#startTimer(now);
  };

  /** Arms the one-shot trim timer if the machine has grown something to give back. */
  #startTrimTimer(now: number): void {
    if (this.#trimTimer !== undefined || !this.#arq.canTrim) return;
    const quietUntil = this.#lastActivityAt + this.#idleTrimMs;
    this.#trimTimer = setTimeout(this.#onTrimTimer, quietUntil > now ? quietUntil - now : 0);
  }

  /** Trims after idleTrimMs of quiet; waits longer if input or writes came since; gives up if traffic is on. */
  #onTrimTimer = (): void => {
    this.#trimTimer = undefined;
    if (this.#isClosed || this.#timer !== undefined) return; // busy: the next idle spell re-arms it
    const now = this.#clock.now();
    if (now - this.#lastActivityAt < this.#idleTrimMs) this.#startTrimTimer(now);
    else this.#arq.trim();
  };

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
