/**
 * What MultipathScheduler knows about one carrier: its RTT (smoothed, variance,
 * minimum), its delivery rate (a windowed maximum of BBR-style samples: bytes
 * acknowledged between a segment's send and its ACK, over that interval), the
 * bytes it holds unacknowledged, its reported `bufferedAmount`, and when it last
 * showed signs of life. Fed by delivery_tracker.ts; no I/O, no clock of its own.
 */

/** Width of the delivery-rate maximum filter, ms: long enough to forget app-limited lulls, short enough to follow a proxy that slows down. */
export const RATE_WINDOW_MS = 2000;
/** Buckets of the maximum filter (each RATE_WINDOW_MS / RATE_BUCKETS wide). */
const RATE_BUCKETS = 4;

/** What a transmission records of its carrier when it is sent, for its rate sample. */
export interface RateSnapshot {
  deliveredAtSend: number;
  deliveredTimeAtSend: number;
  firstSentAtSend: number;
}

/** A maximum over the last `windowMs`, kept as per-bucket maxima (bounded memory, O(1) update). */
export class WindowedMax {
  readonly #bucketMs: number;
  readonly #values = new Float64Array(RATE_BUCKETS);
  readonly #starts = new Float64Array(RATE_BUCKETS).fill(-Infinity);

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / RATE_BUCKETS;
  }

  update(now: number, value: number): void {
    const bucket = Math.floor(now / this.#bucketMs);
    const slot = bucket % RATE_BUCKETS;
    if (this.#starts[slot] !== bucket) {
      this.#starts[slot] = bucket;
      this.#values[slot] = value;
    } else if (value > this.#values[slot]) {
      this.#values[slot] = value;
    }
  }

  /** The maximum of the samples of the last window; 0 when there are none. */
  get(now: number): number {
    const bucket = Math.floor(now / this.#bucketMs);
    let max = 0;
    for (let slot = 0; slot < RATE_BUCKETS; slot++) {
      if (bucket - this.#starts[slot] < RATE_BUCKETS && this.#values[slot] > max) max = this.#values[slot];
    }
    return max;
  }
}

export class CarrierEstimate {
  /** Smoothed RTT in ms; 0 until the first sample. */
  srtt = 0;
  rttvar = 0;
  minRtt = Infinity;
  /** Bytes of every packet sent on it. */
  sentTotal = 0;
  /**
   * `sentTotal` just after the latest-sent transmission that was acknowledged:
   * the carrier is first-in first-out, so everything sent before it has left
   * the carrier (delivered or lost). Also the delivery-rate counter.
   */
  ackedThrough = 0;
  /** Payload bytes acknowledged on it. */
  delivered = 0;
  /** When the latest acknowledgment came, and when the transmission it acknowledged was sent (BBR's delivered_time, first_sent_time). */
  deliveredTime: number;
  firstSentTime: number;
  /** The carrier's own report of bytes waiting to leave it, when it makes one. */
  bufferedAmount = 0;
  /** When it came up, last received a packet, and the `sentAt` of the latest-sent transmission acknowledged. */
  readonly upAt: number;
  lastReceiveAt: number;
  lastAckedSentAt = -Infinity;
  /**
   * The peer's clock (the ts of its PUSH segments, u32 ms) on the first PUSH,
   * sent after this carrier's latest, received on another carrier since this
   * one last received anything (or came up); null until then. How far the peer's clock has gone on from it
   * is how long the peer kept sending elsewhere while this one was silent.
   */
  othersFirstPeerTs: number | null = null;
  /** PUSH packets received on other carriers since then that the peer sent after this one's latest (fresher news). */
  othersFresh = 0;
  /** The peer's clock on the latest PUSH received on this carrier; null before the first. */
  lastPeerTs: number | null = null;
  /** When it last sent anything (for idle padding). */
  lastSendAt: number;
  readonly #rate = new WindowedMax(RATE_WINDOW_MS);

  constructor(now: number) {
    this.upAt =
      this.lastReceiveAt =
      this.lastSendAt =
      this.deliveredTime =
      this.firstSentTime =
        now;
  }

  /** One RTT sample in ms (RFC 6298 gains). */
  addRtt(rtt: number): void {
    if (rtt < this.minRtt) this.minRtt = rtt;
    if (this.srtt === 0) {
      this.srtt = Math.max(rtt, 1);
      this.rttvar = rtt / 2;
      return;
    }
    this.rttvar += (Math.abs(rtt - this.srtt) - this.rttvar) / 4;
    this.srtt += (rtt - this.srtt) / 8;
  }

  /** `sentTotal` when the pipe was last taken for empty without an ACK saying so (see emptyPipe). */
  #pipeFloor = 0;

  /** Bytes sent and not known to have left the carrier (its pipe). */
  get inflight(): number {
    return this.sentTotal - Math.max(this.ackedThrough, this.#pipeFloor);
  }

  /**
   * Transmission `t` (of `bytes` payload) was acknowledged at `now`. The rate
   * sample is BBR's: payload acknowledged since `t` was sent, over the longer
   * of the send and the ACK intervals (which guards against ACKs arriving in a
   * burst), and only over at least one min RTT. What was acknowledged counts,
   * not what left the carrier: one that drops at its queue's bound is no
   * faster for it.
   */
  addDelivery(now: number, bytes: number, t: RateSnapshot & { sentAt: number; sentThrough: number }): void {
    this.delivered += bytes;
    if (t.sentAt > this.lastAckedSentAt) this.lastAckedSentAt = t.sentAt;
    if (t.sentThrough > this.ackedThrough) this.ackedThrough = t.sentThrough;
    const interval = Math.max(t.sentAt - t.firstSentAtSend, now - t.deliveredTimeAtSend);
    this.deliveredTime = now;
    this.firstSentTime = t.sentAt;
    // As BBR: a sample over less than one min RTT is an ACK burst, not a rate (before the first RTT sample, the
    // segment's own flight time stands in for it).
    const floor = this.minRtt === Infinity ? now - t.sentAt : this.minRtt;
    if (interval > 0 && interval >= floor) {
      this.#rate.update(now, (this.delivered - t.deliveredAtSend) / interval);
    }
  }

  /** Forgets what is in the pipe (nothing is outstanding any more and it has been quiet). */
  emptyPipe(): void {
    this.#pipeFloor = this.sentTotal; // not ackedThrough: rate samples count only what ACKs showed
  }

  /** Delivery rate in bytes per ms (windowed maximum); 0 while unmeasured. */
  rate(now: number): number {
    return this.#rate.get(now);
  }

  /** A retransmission-timeout-like figure: srtt + 4·rttvar, or `fallback` before any sample. */
  rto(fallback: number): number {
    return this.srtt === 0 ? fallback : this.srtt + 4 * this.rttvar;
  }
}
