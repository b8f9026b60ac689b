/**
 * Attributes KCP acknowledgments to the carrier each segment went out on, so
 * that MultipathScheduler can measure every carrier by what it delivered.
 *
 * Outgoing packets are scanned for PUSH segments (KCP-SMUX.md §3.1: sn, ts,
 * len); each one becomes a Transmission of its carrier. Incoming packets are
 * scanned for ACK segments, which echo the acknowledged PUSH's sn and ts (so a
 * retransmission on another carrier is told apart from the first copy by its
 * ts), and for `una`, below which everything is received. Bytes are credited to
 * the carrier whose copy was acknowledged; an RTT sample is taken only from an
 * ACK whose ts matches one copy. A sn covered by `una` alone credits its
 * carrier when it went out once, nobody when copies went on several.
 *
 * The scan reads headers only and stops at anything malformed (the packet is
 * still carried: KCP decides what to do with it). Bound: at most
 * MAX_TRACKED_SNS sequence numbers are tracked; past that the oldest is
 * forgotten (retired, credited to nobody).
 */

import { CMD_ACK, CMD_PUSH, isKnownCommand, SEGMENT_HEADER_SIZE } from "../kcp/segment.ts";
import { readU32, timediff } from "../kcp/u32.ts";

/** Sequence numbers tracked at most (a 4 MiB KCP send bound is ~3000 full segments). */
export const MAX_TRACKED_SNS = 8192;

/** One copy of one PUSH segment, sent on one carrier. */
export interface Transmission {
  carrier: number;
  sn: number;
  ts: number;
  /** Payload bytes. */
  bytes: number;
  sentAt: number;
  /** The carrier's sentTotal after this copy, and its delivery figures when it was sent (carrier_estimate.ts). */
  sentThrough: number;
  deliveredAtSend: number;
  deliveredTimeAtSend: number;
  firstSentAtSend: number;
  /** The packet it went out in, and where the segment sits in it (for reinjection). */
  packet: Uint8Array;
  offset: number;
  /** Acknowledged, superseded or forgotten: no longer outstanding. */
  done: boolean;
}

/** A carrier's byte counters when a packet is sent (see carrier_estimate.ts). */
export interface SendCounters {
  readonly sentTotal: number;
  readonly delivered: number;
  readonly deliveredTime: number;
  readonly firstSentTime: number;
}

/** What the tracker reports. */
export interface DeliverySink {
  /** `t` was acknowledged: by an ACK echoing its ts (`rtt` in ms), or by una (`rtt` null). */
  acked(t: Transmission, rtt: number | null, now: number): void;
  /** `t` is no longer outstanding and was not credited (another copy was, or it was forgotten). */
  retired(t: Transmission): void;
}

/** A first-in first-out list of one carrier's transmissions, oldest first; done ones are skipped lazily. */
class TransmissionList {
  #items: Transmission[] = [];
  #head = 0;

  push(t: Transmission): void {
    this.#items.push(t);
  }

  /** The oldest transmission still outstanding, or undefined. */
  oldest(): Transmission | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head].done) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return this.#items[this.#head];
  }

  /** Every outstanding transmission, oldest first. */
  outstanding(): Transmission[] {
    return this.#items.slice(this.#head).filter((t) => !t.done);
  }
}

export class DeliveryTracker {
  readonly #sink: DeliverySink;
  /** sn → its copies, latest last. Insertion order is first-send order, which is sn order. */
  readonly #bySn = new Map<number, Transmission[]>();
  readonly #byCarrier = new Map<number, TransmissionList>();

  constructor(sink: DeliverySink) {
    this.#sink = sink;
  }

  /** Sequence numbers tracked. */
  get size(): number {
    return this.#bySn.size;
  }

  /**
   * Records the PUSH segments of `packet`, sent on `carrier` at `now`; returns
   * their payload bytes (0 for a packet of ACKs and probes only). `counters`
   * are the carrier's sentTotal (this packet included) and delivered.
   */
  onSend(carrier: number, packet: Uint8Array, now: number, counters: SendCounters): number {
    let bytes = 0;
    for (let offset = 0; packet.length - offset >= SEGMENT_HEADER_SIZE;) {
      const len = readU32(packet, offset + 20);
      const end = offset + SEGMENT_HEADER_SIZE + len;
      if (end > packet.length) break;
      if (packet[offset + 4] === CMD_PUSH) {
        this.#record(carrier, packet, offset, len, now, counters);
        bytes += len;
      }
      offset = end;
    }
    return bytes;
  }

  /**
   * Credits what the ACKs and una of an incoming `packet` acknowledge; returns
   * the latest ts of its PUSH segments (the peer's clock), or null if it has none.
   */
  onReceive(packet: Uint8Array, now: number): number | null {
    let una: number | null = null;
    let pushTs: number | null = null;
    for (let offset = 0; packet.length - offset >= SEGMENT_HEADER_SIZE;) {
      const len = readU32(packet, offset + 20);
      const end = offset + SEGMENT_HEADER_SIZE + len;
      if (end > packet.length) break;
      const cmd = packet[offset + 4];
      if (!isKnownCommand(cmd)) break; // not KCP: stop, as kcp-go's Input does
      una = readU32(packet, offset + 16);
      const ts = readU32(packet, offset + 8);
      if (cmd === CMD_ACK) this.#ack(readU32(packet, offset + 12), ts, now);
      else if (cmd === CMD_PUSH && (pushTs === null || timediff(ts, pushTs) > 0)) pushTs = ts;
      offset = end;
    }
    if (una !== null) this.#advanceUna(una, now);
    return pushTs;
  }

  /** The latest copy of `sn`, if it is still outstanding. */
  latest(sn: number): Transmission | undefined {
    const copies = this.#bySn.get(sn);
    const t = copies?.[copies.length - 1];
    return t && !t.done ? t : undefined;
  }

  /** The oldest outstanding transmission of `carrier`. */
  oldest(carrier: number): Transmission | undefined {
    return this.#byCarrier.get(carrier)?.oldest();
  }

  /**
   * Forgets `carrier` and returns its outstanding transmissions whose sn has no
   * later copy elsewhere, oldest first (for reinjection). All of them are retired.
   */
  removeCarrier(carrier: number): Transmission[] {
    const list = this.#byCarrier.get(carrier);
    this.#byCarrier.delete(carrier);
    if (!list) return [];
    const orphans: Transmission[] = [];
    for (const t of list.outstanding()) {
      const copies = this.#bySn.get(t.sn);
      if (copies && copies[copies.length - 1] === t) orphans.push(t);
      t.done = true;
      this.#sink.retired(t);
    }
    return orphans;
  }

  #record(
    carrier: number,
    packet: Uint8Array,
    offset: number,
    bytes: number,
    now: number,
    counters: SendCounters,
  ): void {
    const sn = readU32(packet, offset + 12);
    const t: Transmission = {
      carrier,
      sn,
      ts: readU32(packet, offset + 8),
      bytes,
      sentAt: now,
      sentThrough: counters.sentTotal,
      deliveredAtSend: counters.delivered,
      deliveredTimeAtSend: counters.deliveredTime,
      firstSentAtSend: counters.firstSentTime,
      packet,
      offset,
      done: false,
    };
    const copies = this.#bySn.get(sn);
    if (copies) {
      copies.push(t);
    } else {
      this.#bySn.set(sn, [t]);
      if (this.#bySn.size > MAX_TRACKED_SNS) this.#forgetOldest();
    }
    let list = this.#byCarrier.get(carrier);
    if (!list) this.#byCarrier.set(carrier, list = new TransmissionList());
    list.push(t);
  }

  #ack(sn: number, ts: number, now: number): void {
    const copies = this.#bySn.get(sn);
    if (!copies) return;
    this.#bySn.delete(sn);
    let match: Transmission | undefined;
    for (let i = copies.length - 1; i >= 0; i--) {
      if (copies[i].ts === ts && !copies[i].done) {
        match = copies[i];
        break;
      }
    }
    for (const t of copies) {
      if (t.done) continue;
      t.done = true;
      if (t === match) this.#sink.acked(t, now - t.sentAt, now);
      else this.#sink.retired(t);
    }
  }

  #advanceUna(una: number, now: number): void {
    for (const [sn, copies] of this.#bySn) {
      if (timediff(sn, una) >= 0) break;
      this.#bySn.delete(sn);
      const live = copies.filter((t) => !t.done);
      for (const t of live) {
        t.done = true;
        if (live.length === 1) this.#sink.acked(t, null, now);
        else this.#sink.retired(t);
      }
    }
  }

  #forgetOldest(): void {
    for (const [sn, copies] of this.#bySn) {
      this.#bySn.delete(sn);
      for (const t of copies) {
        if (t.done) continue;
        t.done = true;
        this.#sink.retired(t);
      }
      return;
    }
  }
}
