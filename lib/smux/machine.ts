/**
 * The smux session as a sans-I/O state machine (smux v1.5.16 behaviour, protocol
 * versions 1 and 2; KCP-SMUX.md §7–§8). Bytes from the connection go in through
 * {@link SmuxMachine.handleInput}, the time through {@link SmuxMachine.handleTimeout};
 * the application opens, accepts, reads, writes and closes streams by id. After
 * any call, drain {@link SmuxMachine.pollTransmit} (frames for the connection,
 * each one array: header and payload) and {@link SmuxMachine.pollEvent} until
 * null, and wake the machine at {@link SmuxMachine.pollTimeout}. No timers and no
 * I/O in here: `SmuxSession` is the adapter.
 *
 * Bounds, and what happens at each:
 * - receive bucket (MaxReceiveBuffer): frames are parsed only while it is > 0;
 *   {@link SmuxMachine.wantsInput} turns false and the adapter stops reading the
 *   connection (back-pressure reaches the peer's KCP as a zero window, §8.10);
 *   buffered stream data is at most the bucket plus one frame, and input not yet
 *   parsed at most one conn chunk plus part of a frame;
 * - accept backlog ({@link SMUX_ACCEPT_BACKLOG}): a SYN arriving when it is full stops
 *   frame parsing until the application accepts a stream, as Go's recvLoop blocks;
 * - transmit: PSH frames are queued one write batch at a time ({@link SMUX_WRITE_BATCH_BYTES})
 *   and only while less than a batch waits; control frames are at most one NOP
 *   plus one UPD per stream (a newer UPD replaces a queued one).
 */

import { decodeUpdPayload, type Frame, SmuxCmd } from "./frame.ts";
import { FrameReader } from "./frame_reader.ts";
import { type SmuxConfig, verifySmuxConfig } from "./config.ts";
import { SmuxError } from "./error.ts";
import { StreamState } from "./stream_state.ts";
import { KeepaliveTicks } from "./keepalive.ts";
import { TransmitQueue } from "./transmit_queue.ts";
import { ConnClosedError } from "../net/packet_conn.ts";

/** Streams opened by the peer and not yet accepted (Go's chAccepts capacity). */
export const SMUX_ACCEPT_BACKLOG = 1024;
/** Most PSH payload bytes one write call queues, and the queue level below which writes may queue more. */
export const SMUX_WRITE_BATCH_BYTES = 256 * 1024;

export type SmuxRole = "client" | "server";

export type SmuxEvent =
  /** A peer-opened stream waits in the accept backlog. */
  | { type: "incoming" }
  /** Stream `id` got data or the peer's FIN. */
  | { type: "readable"; id: number }
  /** Stream `id` got an UPD or the peer's FIN: a blocked write may go on (or end). */
  | { type: "writable"; id: number }
  /** The data queue drained below one batch: writes blocked on it may go on. */
  | { type: "drained" }
  /** The session ended: `error` null after {@link SmuxMachine.close}, else why. */
  | { type: "closed"; error: SmuxError | null };

export interface SmuxMachineOptions {
  /** The stream id counter before the first open (default: client 1, server 0). For testing id overflow. */
  lastStreamId?: number;
}

export class SmuxMachine {
  readonly config: Readonly<SmuxConfig>;
  readonly #reader: FrameReader;
  readonly #streams = new Map<number, StreamState>();
  #backlog: number[] = [];
  #stalledSyn = -1; // sid of a SYN that met a full backlog, or -1
  #bucket: number;
  #lastStreamId: number;
  #goAway = false;
  readonly #keepalive: KeepaliveTicks | null;
  readonly #transmit: TransmitQueue;
  readonly #updFields = (sid: number): [number, number] | null => {
    const stream = this.#streams.get(sid);
    return stream === undefined ? null : [stream.numRead, this.config.maxStreamBuffer];
  };
  #events: SmuxEvent[] = [];
  #eventHead = 0;
  #closed = false;
  #error: SmuxError | null = null;

  constructor(readonly role: SmuxRole, config: SmuxConfig, now: number, options: SmuxMachineOptions = {}) {
    verifySmuxConfig(config);
    this.config = { ...config };
    this.#reader = new FrameReader(config.version);
    this.#transmit = new TransmitQueue(config.version);
    this.#bucket = config.maxReceiveBuffer;
    this.#lastStreamId = (options.lastStreamId ?? (role === "client" ? 1 : 0)) >>> 0;
    this.#keepalive = config.keepAliveDisabled
      ? null
      : new KeepaliveTicks(config.keepAliveIntervalMs, config.keepAliveTimeoutMs, now);
  }

  /** The session has ended (closed locally, failed, or timed out). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the session ended, or null while open and after a local close. */
  get error(): SmuxError | null {
    return this.#error;
  }

  /** Tokens left in the session receive bucket (Go's `bucket`; may go below 0 by one frame). */
  get bucket(): number {
    return this.#bucket;
  }

  /** Whether the adapter should read the connection now (false: back-pressure, or ended). */
  wantsInput(): boolean {
    return !this.#closed && this.#bucket > 0 && this.#stalledSyn < 0;
  }

  /** Bytes from the connection, any split. A malformed frame ends the session with a SmuxError. */
  handleInput(bytes: Uint8Array): void {
    if (this.#closed || bytes.length === 0) return;
    this.#reader.push(bytes);
    // Go marks liveness per frame header; any byte from the peer shows the same.
    this.#keepalive?.markDataArrived();
    this.#parseInput();
  }

  /** The connection ended (`error` undefined) or failed. */
  handleInputEnd(error?: unknown): void {
    if (error === undefined) this.#fail(new SmuxError("connection-ended", "connection ended"));
    else this.#fail(new SmuxError("connection-failed", `connection failed: ${error}`, { cause: error }));
  }

  /** Writing to the connection failed. */
  handleTransmitError(error: unknown): void {
    this.#fail(new SmuxError("connection-failed", `connection write failed: ${error}`, { cause: error }));
  }

  /** Runs the keepalive ticks due at `now`. */
  handleTimeout(now: number): void {
    const keepalive = this.#keepalive;
    if (this.#closed || keepalive === null) return;
    if (keepalive.takePing(now)) this.#transmit.queueNop();
    if (keepalive.takeIdleTimeout(now) && this.#bucket > 0) {
      this.#fail(new SmuxError("keepalive-timeout", `no frame from the peer for ${keepalive.timeoutMs} ms`));
    }
  }

  /** When to call {@link handleTimeout} next (Infinity: never). */
  pollTimeout(): number {
    return this.#closed || this.#keepalive === null ? Infinity : this.#keepalive.deadline;
  }

  /** Whether {@link pollTransmit} has a frame. */
  get transmitPending(): boolean {
    return this.#transmit.pending;
  }

  /** The next frame for the connection: NOP and UPD first (Go's shaper gives them priority 0), then data in order. */
  pollTransmit(): Uint8Array | null {
    const wasFull = this.#transmit.payloadBytes >= SMUX_WRITE_BATCH_BYTES;
    const frame = this.#transmit.poll(this.#updFields);
    if (wasFull && this.#transmit.payloadBytes < SMUX_WRITE_BATCH_BYTES) {
      this.#events.push({ type: "drained" });
    }
    return frame;
  }

  /** Data frames (SYN, PSH, FIN) ever queued / ever returned by pollTransmit: a write is out once taken ≥ its queued. */
  get dataFramesQueued(): number {
    return this.#transmit.dataQueued;
  }
  get dataFramesTaken(): number {
    return this.#transmit.dataTaken;
  }

  /** The next event, oldest first, or null. One input chunk can make an event per frame: no shift() here. */
  pollEvent(): SmuxEvent | null {
    if (this.#eventHead === this.#events.length) return null;
    const event = this.#events[this.#eventHead++];
    if (this.#eventHead === this.#events.length) {
      this.#events = [];
      this.#eventHead = 0;
    }
    return event;
  }

  /** Opens a stream (sends SYN) and returns its id. Throws SmuxError("go-away") once ids are used up. */
  openStream(): number {
    this.#checkOpen();
    if (this.#goAway) throw goAwayError();
    const sid = (this.#lastStreamId + 2) >>> 0;
    this.#lastStreamId = sid;
    if (sid <= 1) { // wrapped (Go: sid == sid%2)
      this.#goAway = true;
      throw goAwayError();
    }
    // Registered before the SYN goes out, so an immediate PSH from the peer is never lost (§8.5).
    this.#streams.set(sid, new StreamState(sid));
    this.#transmit.queueSynOrFin(SmuxCmd.SYN, sid);
    return sid;
  }

  /** The id of the next stream the peer opened, or null when none waits. */
  acceptStream(): number | null {
    if (this.#backlog.length === 0) return null;
    const sid = this.#backlog.shift()!;
    if (this.#stalledSyn >= 0) {
      const stalled = this.#stalledSyn;
      this.#stalledSyn = -1;
      this.#addIncoming(stalled);
      this.#parseInput();
    }
    return sid;
  }

  /**
   * Every byte buffered on stream `id` as one array; null at end of stream (the
   * peer's FIN after the data, a stream closed locally, or the session closed
   * locally); undefined when nothing is buffered yet. Throws the session's error
   * once it failed and the buffer is empty.
   */
  readStream(id: number): Uint8Array | null | undefined {
    const stream = this.#streams.get(id);
    if (stream === undefined) return null;
    if (stream.buffered === 0) {
      if (stream.finReceived) return null;
      if (this.#error !== null) throw this.#error;
      return this.#closed ? null : undefined;
    }
    const data = stream.takeAll();
    const n = data.length;
    if (this.config.version === 2) {
      stream.numRead = (stream.numRead + n) >>> 0;
      stream.incr += n;
      // Go sends an UPD on the first read (numRead == n) and then every MaxStreamBuffer/2 read.
      if (stream.incr >= Math.floor(this.config.maxStreamBuffer / 2) || stream.numRead === n) {
        stream.incr = 0;
        if (!this.#closed) this.#transmit.queueUpd(id);
      }
    }
    this.#returnTokens(n);
    return data;
  }

  /**
   * Queues PSH frames for `data` from `offset` and returns how many bytes went:
   * at most the peer's window (v2), one write batch, and nothing while a batch
   * waits. 0 means wait for a "writable" or "drained" event. Throws
   * ConnClosedError on a closed stream or session, SmuxError("peer-closed") when
   * the peer's FIN came and its window is used up, the session's error once it failed.
   */
  writeStream(id: number, data: Uint8Array, offset = 0): number {
    this.#checkOpen();
    const stream = this.#streams.get(id);
    if (stream === undefined) throw new ConnClosedError(`smux stream ${id}`);
    let n = Math.min(data.length - offset, SMUX_WRITE_BATCH_BYTES);
    if (n <= 0) return 0;
    if (this.config.version === 2) {
      const window = stream.sendWindow();
      if (window <= 0) {
        if (stream.finReceived) {
          throw new SmuxError(
            "peer-closed",
            `stream ${id}: the peer closed the stream and its window is full`,
          );
        }
        return 0;
      }
      n = Math.min(n, window);
    }
    if (this.#transmit.payloadBytes >= SMUX_WRITE_BATCH_BYTES) return 0;
    this.#transmit.queuePsh(id, data, offset, n, this.config.maxFrameSize);
    stream.numWritten = (stream.numWritten + n) >>> 0;
    return n;
  }

  /** Closes stream `id` fully, as Go's Stream.Close: sends FIN, forgets the stream and drops its unread bytes. */
  closeStream(id: number): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    this.#streams.delete(id);
    this.#transmit.cancelUpd(id);
    if (!this.#closed) this.#transmit.queueSynOrFin(SmuxCmd.FIN, id);
    const unread = stream.buffered;
    stream.takeAll();
    this.#returnTokens(unread);
  }

  /**
   * Ends the session locally, as Go's Session.Close: no FIN for open streams.
   * Frames already queued (SYN, PSH, FIN) stay for pollTransmit; reads drain
   * what is buffered and then end.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transmit.clearControl();
    this.#wakeAll(null);
  }

  #checkOpen(): void {
    if (this.#error !== null) throw this.#error;
    if (this.#closed) throw new ConnClosedError("smux session");
  }

  #fail(error: SmuxError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    this.#transmit.clear();
    this.#wakeAll(error);
  }

  #wakeAll(error: SmuxError | null): void {
    this.#backlog = [];
    this.#stalledSyn = -1;
    for (const id of this.#streams.keys()) {
      this.#events.push({ type: "readable", id }, { type: "writable", id });
    }
    this.#events.push({ type: "closed", error });
  }

  #returnTokens(n: number): void {
    const wasBlocked = this.#bucket <= 0;
    this.#bucket += n;
    if (wasBlocked && this.#bucket > 0) this.#parseInput();
  }

  /** Handles whole frames while the bucket and the backlog allow (Go's recvLoop). */
  #parseInput(): void {
    try {
      while (this.wantsInput()) {
        const frame = this.#reader.next();
        if (frame === null) return;
        this.#handleFrame(frame);
      }
    } catch (error) {
      if (!(error instanceof SmuxError)) throw error;
      this.#fail(error);
    }
  }

  #handleFrame(frame: Frame): void {
    const { sid } = frame;
    switch (frame.cmd) {
      case SmuxCmd.SYN: // payload, if any, is not consumed (§8.4)
        if (this.#streams.has(sid)) return;
        if (this.#backlog.length >= SMUX_ACCEPT_BACKLOG) this.#stalledSyn = sid;
        else this.#addIncoming(sid);
        return;
      case SmuxCmd.FIN: {
        const stream = this.#streams.get(sid);
        if (stream === undefined || stream.finReceived) return;
        stream.finReceived = true; // the stream stays: reads drain, then end
        this.#events.push({ type: "readable", id: sid }, { type: "writable", id: sid });
        return;
      }
      case SmuxCmd.PSH: {
        const stream = this.#streams.get(sid);
        if (stream === undefined || frame.payload.length === 0) return; // unknown sid: discarded
        stream.push(frame.payload);
        this.#bucket -= frame.payload.length;
        this.#events.push({ type: "readable", id: sid });
        return;
      }
      case SmuxCmd.UPD: {
        const stream = this.#streams.get(sid);
        if (stream === undefined) return;
        const { consumed, window } = decodeUpdPayload(frame.payload);
        stream.peerConsumed = consumed;
        stream.peerWindow = window;
        this.#events.push({ type: "writable", id: sid });
        return;
      }
      case SmuxCmd.NOP: // nothing; its payload, if any, is not consumed
        return;
    }
  }

  #addIncoming(sid: number): void {
    this.#streams.set(sid, new StreamState(sid));
    this.#backlog.push(sid);
    this.#events.push({ type: "incoming" });
  }
}

function goAwayError(): SmuxError {
  return new SmuxError("go-away", "stream id overflows, should start a new connection");
}
