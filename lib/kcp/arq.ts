/**
 * The KCP ARQ state machine with kcp-go v5.6.1 semantics (KCP-SMUX.md §4), not
 * ikcp.c's. Sans-I/O: bytes and the time go in, packets and readable data come
 * out, and nothing in here reads a clock or holds a timer. It speaks the verbs
 * of every machine here (smux's SmuxMachine, the broker's, ExtORPort's):
 *
 * - `handleInput(now, packet)` for each packet from the peer; it returns the
 *   KcpError of a malformed packet (kcp-go's Input −1/−2/−3) or null;
 * - `send(data, now)` for application data, `read()` for received data;
 * - `handleTimeout(now)` when the timer armed for `pollTimeout()` fires;
 * - after any of these, drain `pollTransmit()` until null (packets for the peer).
 *
 * KCP has no events: what the application may do next is read from
 * `readableBytes` and `sendWindowOpen`.
 *
 * Time follows kcp-go's session. Input that advanced una, and each write, ask
 * for a flush at once (kcp-go's Input and Write flush): it runs in the next
 * `pollTransmit()`, so a batch of input packets costs one flush. Apart from
 * that, kcp-go's update loop flushes on its own timer (then sleeps for what
 * flush returned, ≤ interval); it stops while the machine is idle and restarts
 * on the next input or write, one interval on. `pollTimeout()` is that loop's
 * next tick; while idle, the time to give back what traffic grew
 * ({@link ArqLimits.idleTrimMs}); else Infinity. The tick runs only in
 * handleTimeout: an adapter that is busy with input past a tick runs it when
 * its timer fires, as kcp-go's separate update goroutine would.
 *
 * kcp-go specifics kept here (§4.16): the "filter jitters" ACK rule, fast-ack
 * counting per ACK for segments sent no later than the acked one, early
 * retransmit even with fastresend 0, linear RTO backoff without a first-send
 * extra, one RTT sample per packet from its last ACK, acked segments staying in
 * snd_buf until una passes them, and congestion control only when nc = 0.
 * sn, una and ts are u32 and every comparison is a signed 32-bit difference.
 *
 * dead_link is not modelled: kcp-go v5.6.1 records it and never reads it (§4.13).
 * Memory bounds: see send_queue.ts, receive_buffer.ts, and {@link ACK_LIST_LIMIT}.
 */

import { CongestionWindow } from "./congestion.ts";
import { KcpError } from "./error.ts";
import { type KcpOptions, mssFor, resolveKcpOptions } from "./options.ts";
import { PacketWriter } from "./packet_writer.ts";
import { ReceiveBuffer } from "./receive_buffer.ts";
import { Ring } from "./ring.ts";
import { RTO_MIN_MS, RTO_NODELAY_MIN_MS, RttEstimator } from "./rtt.ts";
import { CMD_ACK, CMD_PUSH, CMD_WASK, CMD_WINS, SEGMENT_HEADER_SIZE } from "./segment.ts";
import { SendQueue } from "./send_queue.ts";
import { readU32, timediff } from "./u32.ts";

const ASK_SEND = 1; // IKCP_ASK_SEND: a WASK is due
const ASK_TELL = 2; // IKCP_ASK_TELL: a WINS is due
const PROBE_INIT_MS = 7000; // IKCP_PROBE_INIT
const PROBE_LIMIT_MS = 120_000; // IKCP_PROBE_LIMIT
const INITIAL_RMT_WND = 32; // kcp-go starts rmt_wnd at IKCP_WND_RCV
/**
 * Pending ACKs at which `flushNeeded` is raised so the adapter flushes early
 * (ours; kcp-go's acklist is unbounded). A 10 ms tick at 1 Gbit/s collects ~900;
 * only a flood reaches this.
 */
export const ACK_LIST_LIMIT = 8192;
/** Spare snd_buf segments an idle machine keeps after {@link Arq.trim} (ours): enough for a small exchange. */
export const SPARE_SEGMENTS_KEPT = 8;
/** ACK list slots an idle machine keeps after {@link Arq.trim}; longer arrays are let go. */
export const ACK_SLOTS_KEPT = 64;

const EMPTY = new Uint8Array(0);

/** Extra knobs of ours, beyond kcp-go's settings. */
export interface ArqLimits {
  /** Payload bytes the receive side may hold (receive_buffer.ts). Default: no limit beyond rcvWnd, as kcp-go. */
  maxRecvBytes?: number;
  /**
   * Each packet from {@link Arq.pollTransmit} is copied before the transmit
   * queue is drained (a conn with copiesOnWrite): packets are then encoded into
   * a buffer of the machine's own, reused once the queue is drained
   * (packet_writer.ts). Default false: each packet is the consumer's to keep.
   */
  reusePacketBuffer?: boolean;
  /** First sn of both directions; kcp-go always uses 0 (a Go peer needs 0). For wraparound tests. */
  initialSn?: number;
  /**
   * Quiet ms (no input or write) after which an idle machine gives back what
   * traffic grew ({@link Arq.trim}), as a deadline of {@link Arq.pollTimeout}.
   * Default Infinity: never on its own.
   */
  idleTrimMs?: number;
}

/** Memory an Arq holds beyond its data, grown by traffic and given back by {@link Arq.trim}. */
export interface ArqFootprint {
  /** Segment objects pooled for reuse in snd_buf. */
  spareSegments: number;
  /** Slots of the ring buffers (snd_buf, snd_queue, rcv_queue). */
  ringSlots: number;
  /** Slots of the ACK list arrays. */
  ackSlots: number;
}

/** Retransmissions so far, by cause (kcp-go's FastRetransSegs, EarlyRetransSegs, LostSegs). */
export interface ArqRetransmits {
  /** Skipped by `resend` ACKs or more (fast retransmit; off in Snowflake). */
  fast: number;
  /** Skipped by an ACK while nothing new was sent (kcp-go's early retransmit). */
  early: number;
  /** Not acknowledged within their RTO. */
  timeout: number;
}

/** Adds `from`'s counts into `into`. */
export function addRetransmits(into: ArqRetransmits, from: ArqRetransmits): void {
  into.fast += from.fast;
  into.early += from.early;
  into.timeout += from.timeout;
}

/** A segment in snd_buf. */
class OutSegment {
  sn = 0;
  frg = 0;
  data: Uint8Array = EMPTY;
  ts = 0;
  xmit = 0;
  rto = 0;
  resendts = 0;
  fastack = 0;
  acked = false;
}

export class Arq {
  readonly conv: number;
  readonly options: Readonly<KcpOptions>;
  readonly mss: number;
  #sndUna: number;
  #sndNxt: number;
  #rmtWnd = INITIAL_RMT_WND;
  readonly #congestion: CongestionWindow;
  #probe = 0;
  #tsProbe = 0;
  #probeWait = 0;
  readonly #rtt: RttEstimator;
  readonly #sendQueue: SendQueue;
  /** snd_buf: sn sndUna…sndNxt−1, contiguous (segments only ever leave from the front), at most the send window. */
  readonly #sendBuffer = new Ring<OutSegment>();
  #sendBufferBytes = 0;
  readonly #spare: OutSegment[] = [];
  readonly #receive: ReceiveBuffer;
  #ackSn: number[] = [];
  #ackTs: number[] = [];
  #ackCount = 0;
  readonly #writer: PacketWriter;
  #flushNeeded = false;
  /** Packets flushed and not yet taken by pollTransmit: at most one flush's worth (≤ window + ACK list). */
  #transmit: Uint8Array[] = [];
  #transmitHead = 0;
  readonly #queuePacket = (packet: Uint8Array) => this.#transmit.push(packet);
  /** The last time handed in (handleInput, send, handleTimeout). */
  #now = 0;
  /** Whether kcp-go's update loop runs (it stops while idle), its next tick, and what the last tick's flush returned. */
  #ticking = false;
  #tickAt = 0;
  #nextWake = 0;
  #lastActivityAt = 0;
  readonly #idleTrimMs: number;
  #closed = false;
  readonly #retransmits: ArqRetransmits = { fast: 0, early: 0, timeout: 0 };

  constructor(conv: number, options: Partial<KcpOptions> = {}, limits: ArqLimits = {}) {
    this.conv = conv >>> 0;
    this.options = Object.freeze(resolveKcpOptions(options));
    this.mss = mssFor(this.options.mtu);
    const initialSn = (limits.initialSn ?? 0) >>> 0;
    this.#sndUna = this.#sndNxt = initialSn;
    this.#rtt = new RttEstimator(
      this.options.interval,
      this.options.nodelay ? RTO_NODELAY_MIN_MS : RTO_MIN_MS,
    );
    this.#sendQueue = new SendQueue(this.options.streamMode, this.mss);
    this.#receive = new ReceiveBuffer(
      this.options.rcvWnd,
      this.options.streamMode,
      this.mss,
      limits.maxRecvBytes ?? Infinity,
      initialSn,
    );
    this.#writer = new PacketWriter(this.conv, this.options.mtu, limits.reusePacketBuffer ?? false);
    this.#writer.out = this.#queuePacket;
    this.#congestion = new CongestionWindow(this.mss);
    this.#idleTrimMs = limits.idleTrimMs ?? Infinity;
  }

  /** Oldest unacknowledged sn (snd_una). */
  get sndUna(): number {
    return this.#sndUna;
  }
  /** Next sn to assign (snd_nxt). */
  get sndNxt(): number {
    return this.#sndNxt;
  }
  /** Next sn expected from the peer (rcv_nxt). */
  get rcvNxt(): number {
    return this.#receive.rcvNxt;
  }
  /** The peer's last advertised window (rmt_wnd). */
  get rmtWnd(): number {
    return this.#rmtWnd;
  }
  /** Congestion window (only used when nc = 0). */
  get cwnd(): number {
    return this.#congestion.cwnd;
  }
  get rto(): number {
    return this.#rtt.rto;
  }
  get srtt(): number {
    return this.#rtt.srtt;
  }
  get rttvar(): number {
    return this.#rtt.rttvar;
  }
  /** kcp-go WaitSnd: segments queued or in flight, acked-but-not-passed-by-una ones included. */
  get waitSnd(): number {
    return this.#sendBuffer.length + this.#sendQueue.segments;
  }
  /** Payload bytes queued or in flight and not yet acknowledged. */
  get sendBytes(): number {
    return this.#sendQueue.bytes + this.#sendBufferBytes;
  }
  /** Payload bytes ready for {@link read}. */
  get readableBytes(): number {
    return this.#receive.readyBytes;
  }
  /** Bytes held on the receive side (ready and out of order; payload + a per-segment charge, receive_buffer.ts). */
  get receiveBytes(): number {
    return this.#receive.heldBytes;
  }
  /** The window this side advertises (wnd_unused). */
  get wndUnused(): number {
    return this.#receive.wndUnused();
  }
  /** kcp-go's Write gate: accepts a write while WaitSnd < min(sndWnd, rmtWnd). */
  get sendWindowOpen(): boolean {
    const waiting = this.waitSnd;
    return waiting < this.options.sndWnd && waiting < this.#rmtWnd;
  }
  /** Whether the last input wants an immediate flush (una advanced, or the ACK list is long). */
  get flushNeeded(): boolean {
    return this.#flushNeeded;
  }
  /** Nothing to send, acknowledge, retransmit or probe: periodic flushes would be no-ops until new input or writes. */
  get idle(): boolean {
    return this.#ackCount === 0 && this.#probe === 0 && this.#sendQueue.bytes === 0 &&
      this.#sendBuffer.length === 0 && this.#rmtWnd !== 0;
  }

  /** Retransmissions so far, by cause. */
  get retransmits(): ArqRetransmits {
    return { ...this.#retransmits };
  }

  /** What the machine holds for reuse (pooled segments, ring and ACK list slots); for stats and tests. */
  get footprint(): ArqFootprint {
    return {
      spareSegments: this.#spare.length,
      ringSlots: this.#sendBuffer.capacity + this.#sendQueue.slots + this.#receive.slots,
      ackSlots: this.#ackSn.length + this.#ackTs.length,
    };
  }

  /**
   * Whether {@link trim} would give memory back: the machine is {@link idle},
   * everything received has been read, and traffic grew a pool, ring or ACK list.
   */
  get canTrim(): boolean {
    if (!this.idle || this.#receive.heldBytes !== 0) return false;
    return this.#spare.length > SPARE_SEGMENTS_KEPT || this.#ackSn.length > ACK_SLOTS_KEPT ||
      this.#sendBuffer.canShrink || this.#sendQueue.canShrink || this.#receive.canShrink;
  }

  /**
   * Gives back what traffic grew, once it is over (ours; the adapter calls it
   * after an idle spell): the segment pool down to {@link SPARE_SEGMENTS_KEPT},
   * the rings to their initial capacity, long ACK lists dropped. Does nothing
   * unless {@link canTrim}. Nothing on the wire changes: the next burst grows
   * them again.
   */
  trim(): void {
    if (!this.canTrim) return;
    if (this.#spare.length > SPARE_SEGMENTS_KEPT) this.#spare.length = SPARE_SEGMENTS_KEPT;
    if (this.#ackSn.length > ACK_SLOTS_KEPT) {
      this.#ackSn = [];
      this.#ackTs = [];
    }
    this.#sendBuffer.shrink();
    this.#sendQueue.shrink();
    this.#receive.shrink();
    this.#writer.release();
  }

  /**
   * Queues application data written at `now` (kept by reference: the caller
   * must not modify it) and asks for a flush at once (kcp-go's Write). Empty
   * data is ignored (kcp-go Send −1: nothing sent). Throws
   * KcpError("message-too-large") for a message of more than 255 fragments
   * (message mode; nothing queued). An adapter applies kcp-go's gate first
   * ({@link sendWindowOpen}; session.ts).
   */
  send(data: Uint8Array, now: number): void {
    if (this.#closed || data.length === 0) return;
    if (!this.#sendQueue.push(data)) {
      throw new KcpError("message-too-large", `a ${data.length}-byte message needs more than 255 fragments`);
    }
    this.#now = this.#lastActivityAt = now;
    this.#flushNeeded = true;
  }

  /** Received data, or null when none is ready (stream mode: ready bytes, up to about 64 KiB; message mode: one message). */
  read(): Uint8Array | null {
    const data = this.#receive.read();
    if (this.#receive.windowReopened) {
      this.#receive.windowReopened = false;
      this.#probe |= ASK_TELL; // kcp-go "fast recover": tell the peer the window reopened
    }
    return data;
  }

  /**
   * Feeds one packet from the peer (kcp-go `Input` with regular = true,
   * ackNoDelay = false). Returns null, or the KcpError for kcp-go's −1
   * ("short-packet", "conv-mismatch"), −2 ("bad-length"), −3 ("bad-command");
   * on an error the segments before the bad one stay processed and the
   * end-of-packet work (RTT sample, cwnd growth, immediate flush) is skipped, as
   * in Go. Never throws.
   */
  handleInput(now: number, packet: Uint8Array): KcpError | null {
    if (this.#closed) return null;
    this.#now = now;
    this.#lastActivityAt = now;
    const size = packet.length;
    if (size < SEGMENT_HEADER_SIZE) {
      return new KcpError("short-packet", `packet of ${size} bytes is shorter than a header`);
    }
    const current = now >>> 0;
    const previousUna = this.#sndUna;
    const receive = this.#receive;
    const rcvWnd = this.options.rcvWnd;
    let offset = 0;
    let sawAck = false;
    let latestTs = 0;
    let windowSlides = false;
    while (size - offset >= SEGMENT_HEADER_SIZE) {
      if (readU32(packet, offset) !== this.conv) {
        return new KcpError("conv-mismatch", `segment for conv ${readU32(packet, offset)}, not ${this.conv}`);
      }
      const cmd = packet[offset + 4];
      const len = readU32(packet, offset + 20);
      const start = offset + SEGMENT_HEADER_SIZE;
      if (size - start < len) {
        return new KcpError("bad-length", `segment declares ${len} data bytes, ${size - start} present`);
      }
      if (cmd < CMD_PUSH || cmd > CMD_WINS) {
        return new KcpError("bad-command", `unknown segment command ${cmd}`);
      }
      const ts = readU32(packet, offset + 8);
      const sn = readU32(packet, offset + 12);
      this.#rmtWnd = packet[offset + 6] | packet[offset + 7] << 8;
      if (this.#parseUna(readU32(packet, offset + 16))) windowSlides = true;
      if (cmd === CMD_ACK) {
        this.#parseAck(sn, ts);
        sawAck = true;
        latestTs = ts;
      } else if (cmd === CMD_PUSH) {
        if (timediff(sn, (receive.rcvNxt + rcvWnd) >>> 0) < 0) {
          if (receive.push(sn, packet[offset + 5], packet.subarray(start, start + len))) {
            this.#pushAck(sn, ts);
          }
        }
      } else if (cmd === CMD_WASK) {
        this.#probe |= ASK_TELL;
      } // WINS: its wnd was taken above
      offset = start + len;
    }
    if (sawAck) {
      const rtt = timediff(current, latestTs);
      if (rtt >= 0) this.#rtt.update(rtt);
    }
    if (this.options.nc === 0 && timediff(this.#sndUna, previousUna) > 0) this.#congestion.grow(this.#rmtWnd);
    if (windowSlides || this.#ackCount >= ACK_LIST_LIMIT) this.#flushNeeded = true;
    else this.#startTicking(now);
    return null;
  }

  /**
   * The timer armed for {@link pollTimeout} fired: runs a tick of kcp-go's
   * update loop if one is due (a flush), restarts the loop if there is work, or
   * trims an idle machine after its quiet time. The packets go to
   * {@link pollTransmit}.
   */
  handleTimeout(now: number): void {
    if (this.#closed) return;
    this.#now = now;
    if (this.#ticking && now >= this.#tickAt) {
      this.#ticking = false;
      this.#nextWake = this.flush(now);
    }
    this.#startTicking(now);
    if (!this.#ticking && now - this.#lastActivityAt >= this.#idleTrimMs) this.trim();
  }

  /**
   * When {@link handleTimeout} is due: the update loop's next tick; the last
   * time given when the loop must start (a read queued a WINS); while idle, the
   * trim; Infinity when nothing is.
   */
  pollTimeout(): number {
    if (this.#closed) return Infinity;
    if (this.#ticking) return this.#tickAt;
    if (!this.idle) return this.#now;
    return this.canTrim ? this.#lastActivityAt + this.#idleTrimMs : Infinity;
  }

  /**
   * The next packet for the peer (at most mtu bytes), or null; runs the flush
   * that input or a write asked for first. See {@link ArqLimits.reusePacketBuffer}
   * for how long a packet's bytes are the caller's.
   */
  pollTransmit(): Uint8Array | null {
    if (this.#flushNeeded && this.#transmitHead === this.#transmit.length) {
      this.flush(this.#now);
      this.#startTicking(this.#now);
    }
    if (this.#transmitHead < this.#transmit.length) return this.#transmit[this.#transmitHead++];
    if (this.#transmitHead > 0) {
      this.#transmit.length = 0;
      this.#transmitHead = 0;
      this.#writer.recycle();
    }
    return null;
  }

  /** Starts kcp-go's update loop if it is stopped and there is work (after an idle spell: one interval on). */
  #startTicking(now: number): void {
    if (this.#ticking || this.#closed || this.idle) return;
    this.#ticking = true;
    this.#tickAt = this.#nextWake > now ? this.#nextWake : now + this.options.interval;
  }

  /**
   * Ends the machine as kcp-go's Close does: one last flush (its packets go to
   * {@link pollTransmit}), then what is queued or in flight and the pending ACKs
   * are dropped (ReleaseTX); received data stays readable. Then every verb but
   * read and pollTransmit does nothing.
   */
  close(now: number): void {
    if (this.#closed) return;
    this.flush(now);
    this.#closed = true;
    this.#sendQueue.clear();
    this.#sendBuffer.clear();
    this.#sendBufferBytes = 0;
    this.#ackCount = 0;
    this.#flushNeeded = false;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * kcp-go `flush` (ikcp_flush), now, whether due or not: writes pending ACKs,
   * window probes, new data and due retransmissions as packets ≤ mtu to
   * {@link pollTransmit}, and returns the time (same clock as `now`) by which it
   * wants to be called again: now + the nearest retransmission, at most now +
   * interval. With `ackOnly`, only ACKs go out. An adapter calls
   * {@link handleTimeout}, which flushes when kcp-go would; this is for a
   * caller that replays kcp-go step by step (the §6 vectors).
   */
  flush(now: number, ackOnly = false): number {
    this.#flushNeeded = false;
    const current = now >>> 0;
    const options = this.options;
    const writer = this.#writer;
    const wnd = this.#receive.wndUnused();
    const una = this.#receive.rcvNxt;

    // ACKs: only for sn not yet covered by una, except the last one ("filter jitters", §4.6 step 3)
    let lastSn = 0;
    let lastTs = 0;
    const ackCount = this.#ackCount;
    for (let i = 0; i < ackCount; i++) {
      const sn = this.#ackSn[i];
      if (timediff(sn, una) >= 0 || i === ackCount - 1) {
        lastSn = sn;
        lastTs = this.#ackTs[i];
        writer.segment(CMD_ACK, 0, wnd, lastTs, lastSn, una, EMPTY);
      }
    }
    this.#ackCount = 0;
    if (ackOnly) {
      writer.emit();
      return now + options.interval;
    }

    this.#updateProbe(current);
    // WASK/WINS carry the last written ACK's sn and ts: a quirk of kcp-go's segment template (§3.3)
    if (this.#probe & ASK_SEND) {
      writer.segment(CMD_WASK, 0, wnd, lastTs, lastSn, una, EMPTY);
    }
    if (this.#probe & ASK_TELL) {
      writer.segment(CMD_WINS, 0, wnd, lastTs, lastSn, una, EMPTY);
    }
    this.#probe = 0;

    let window = Math.min(options.sndWnd, this.#rmtWnd);
    if (options.nc === 0) window = Math.min(this.#congestion.cwnd, window);
    const newSegments = this.#moveNewData(window);

    const resent = options.resend > 0 ? options.resend : 0xffffffff;
    const buffer = this.#sendBuffer;
    const rxRto = this.#rtt.rto;
    let minRto = options.interval;
    let changed = 0;
    let lost = 0;
    for (let i = 0, n = buffer.length; i < n; i++) {
      const segment = buffer.at(i);
      if (segment.acked) continue;
      let send = true;
      if (segment.xmit === 0) { // first transmission
        segment.rto = rxRto;
      } else if (segment.fastack >= resent) { // fast retransmit
        segment.fastack = 0;
        segment.rto = rxRto;
        changed++;
        this.#retransmits.fast++;
      } else if (segment.fastack > 0 && newSegments === 0) { // early retransmit (kcp-go only)
        segment.fastack = 0;
        segment.rto = rxRto;
        changed++;
        this.#retransmits.early++;
      } else if (timediff(current, segment.resendts) >= 0) { // timeout: linear backoff
        segment.rto = (segment.rto + (options.nodelay === 0 ? rxRto : rxRto >>> 1)) >>> 0;
        segment.fastack = 0;
        lost++;
        this.#retransmits.timeout++;
      } else {
        send = false;
      }
      if (send) {
        segment.resendts = (current + segment.rto) >>> 0;
        segment.xmit++;
        segment.ts = current;
        writer.segment(CMD_PUSH, segment.frg, wnd, current, segment.sn, una, segment.data);
      }
      const due = timediff(segment.resendts, current);
      if (due > 0 && due < minRto) minRto = due;
    }
    writer.emit();

    if (options.nc === 0) {
      this.#congestion.afterFlush(changed, lost, (this.#sndNxt - this.#sndUna) >>> 0, window, resent);
    }
    return now + minRto;
  }

  /** parse_una + shrink_buf: drops segments below `una` from snd_buf; true if any left. */
  #parseUna(una: number): boolean {
    const buffer = this.#sendBuffer;
    let count = timediff(una, this.#sndUna);
    if (count <= 0 || buffer.length === 0) return false;
    if (count > buffer.length) count = buffer.length;
    for (let i = 0; i < count; i++) {
      const segment = buffer.shift();
      if (!segment.acked) this.#sendBufferBytes -= segment.data.length;
      segment.data = EMPTY;
      this.#spare.push(segment);
    }
    this.#sndUna = buffer.length > 0 ? buffer.at(0).sn : this.#sndNxt;
    return true;
  }

  /** parse_ack (marks the segment acked; it stays until una passes) and parse_fastack for one ACK. */
  #parseAck(sn: number, ts: number): void {
    const index = timediff(sn, this.#sndUna);
    if (index < 0 || timediff(sn, this.#sndNxt) >= 0) return;
    const buffer = this.#sendBuffer;
    const acked = buffer.at(index);
    if (!acked.acked) {
      acked.acked = true;
      this.#sendBufferBytes -= acked.data.length;
      acked.data = EMPTY;
    }
    // every earlier segment sent no later than the acked one was skipped once more (§4.7)
    for (let i = 0; i < index; i++) {
      const segment = buffer.at(i);
      if (timediff(segment.ts, ts) <= 0) segment.fastack++;
    }
  }

  #pushAck(sn: number, ts: number): void {
    const i = this.#ackCount++;
    this.#ackSn[i] = sn;
    this.#ackTs[i] = ts;
  }

  /** Moves segments from snd_queue to snd_buf while sndNxt < sndUna + window; returns how many. */
  #moveNewData(window: number): number {
    const queue = this.#sendQueue;
    const limit = (this.#sndUna + window) >>> 0;
    let moved = 0;
    while (queue.bytes > 0 && timediff(this.#sndNxt, limit) < 0) {
      const segment = this.#spare.pop() ?? new OutSegment();
      segment.data = queue.take();
      segment.frg = queue.lastFrg;
      segment.sn = this.#sndNxt;
      segment.ts = 0;
      segment.xmit = 0;
      segment.rto = 0;
      segment.resendts = 0;
      segment.fastack = 0;
      segment.acked = false;
      this.#sendBuffer.push(segment);
      this.#sendBufferBytes += segment.data.length;
      this.#sndNxt = (this.#sndNxt + 1) >>> 0;
      moved++;
    }
    return moved;
  }

  /** Window-probe timer (§4.6 step 5): while the peer's window is 0, a WASK after 7 s, then 1.5× apart up to 120 s. */
  #updateProbe(current: number): void {
    if (this.#rmtWnd !== 0) {
      this.#tsProbe = 0;
      this.#probeWait = 0;
      return;
    }
    if (this.#probeWait === 0) {
      this.#probeWait = PROBE_INIT_MS;
      this.#tsProbe = (current + this.#probeWait) >>> 0;
    } else if (timediff(current, this.#tsProbe) >= 0) {
      if (this.#probeWait < PROBE_INIT_MS) this.#probeWait = PROBE_INIT_MS;
      this.#probeWait += Math.floor(this.#probeWait / 2);
      if (this.#probeWait > PROBE_LIMIT_MS) this.#probeWait = PROBE_LIMIT_MS;
      this.#tsProbe = (current + this.#probeWait) >>> 0;
      this.#probe |= ASK_SEND;
    }
  }
}
