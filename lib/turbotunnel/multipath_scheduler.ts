/**
 * MultipathScheduler: the sans-I/O core of MultiplexingPacketConn. It keeps
 * up to `max` carriers (one per snowflake proxy), says when to dial one, picks
 * the carrier for every outgoing KCP packet, measures each carrier by what it
 * delivers (delivery_tracker.ts attributes KCP's ACKs to the carrier each
 * segment went out on; carrier_estimate.ts keeps RTT, BBR-style delivery rate
 * and bytes in the pipe), and drops a carrier that stopped delivering while
 * the others go on. No I/O, no timers, no clock: the adapter passes `now` in.
 *
 * Verbs: `handleInput(now, input)`, `handleTimeout(now)`, then drain
 * `pollTransmit()` and `pollEvent()` until null, and wake at `pollTimeout()`.
 *
 * With `max` 1 it is RedialPacketConn: packets pass straight to the one
 * carrier, which is replaced only when it closes. With `max` > 1:
 *
 * Striping. A packet with PUSH segments goes, among the carriers with room in
 * their window (WINDOW_GAIN × delivery rate × min RTT in the pipe, at least
 * MIN_WINDOW_BYTES) and not suspect, to the one where it should arrive first:
 * cost = (queued + bytes) / rate + srtt / 2, queued being the larger of its
 * reported bufferedAmount and what it holds beyond its bandwidth-delay
 * product. A slow carrier so gets packets in proportion to what it delivers
 * and nothing ever waits for it. KCP runs without congestion control here, so
 * without windows its bursts would fill a slow carrier's queue as deep as a
 * fast one's; while no carrier has room packets wait here (at most
 * HOLD_MAX_PACKETS), retransmissions and reinjected copies ahead of new data.
 * A packet of ACKs only goes round-robin and never waits, so most ACKs get
 * through while a dead carrier is not yet found out; a packet that must wait
 * sends its ACKs and window segments ahead in a packet of their own, so the
 * peer's data never waits for room for ours. KCP has one RTO for all
 * carriers, so a retransmission whose copy is still waiting here, or has been
 * on a live carrier for less than that carrier's own RTO, is not sent
 * (`suppressed`). A carrier that sent nothing for QUIET_SEND_MS gets the next
 * packet (the bridge closes a WebSocket that brings no bytes for 60 s). A
 * carrier is suspect (gets nothing while another is not)
 * when nothing sent on it since its oldest outstanding segment was
 * acknowledged, for longer than its RTO.
 *
 * Loss (while two or more are live). A carrier is dropped at once when its
 * oldest outstanding segment, and everything sent on it since, has gone
 * unacknowledged for the loss timeout while segments sent later on another
 * carrier were acknowledged; or when it received nothing for the loss timeout
 * while the peer sent LOSS_MIN_OTHER_RECEIVES newer packets on the others,
 * spanning the loss timeout by the peer's own clock (the ts of its PUSH
 * segments; so a slow carrier's old backlog and a pause of the peer do not
 * count). Loss timeout: LOSS_RTTS × its srtt (at least its RTO), within
 * [lossTimeoutMinMs, lossTimeoutMaxMs]; before its first RTT sample,
 * lossTimeoutMinMs for silence and twice that for unacknowledged data (a slow
 * new proxy is not a lost one). The segments only the dropped carrier held
 * are reinjected at once on the others (ts shifted by the time since their
 * send, so KCP's RTT sample stays true) instead of waiting for KCP's backed-off
 * RTO, and a replacement is dialed in the background.
 *
 * Dialing. At the start `max` dials at once; each replacement at least
 * `minRedialIntervalMs` after the previous dial started, always from
 * handleTimeout (so a carrier that dies at once cannot loop without yielding).
 * A failed dial closes everything when no carrier is live and no other dial
 * is pending (as RedialPacketConn); otherwise it is retried after a backoff of
 * 1 s doubling to 30 s.
 *
 * Bounds: `queueSize` packets wait while no carrier is live, HOLD_MAX_PACKETS
 * while carriers are live but full (more are dropped, `droppedSend`); the
 * tracker holds MAX_TRACKED_SNS sequence numbers; a drop reinjects at most
 * REINJECT_MAX_SEGMENTS.
 */

import { SEGMENT_HEADER_SIZE } from "../kcp/segment.ts";
import { readU32, timediff, writeU32 } from "../kcp/u32.ts";
import { CarrierEstimate } from "./carrier_estimate.ts";
import { DeliveryTracker, type Transmission } from "./delivery_tracker.ts";
import { pushBytes, soloPushSn, splitControl } from "./kcp_packet.ts";

/** A carrier stopped delivering while others delivered (the reason of its "carrierdown"). */
export class CarrierLostError extends Error {
  override name = "CarrierLostError";
}

/** Loss timeout in RTTs of the carrier ("nothing delivered for a few RTTs"). */
export const LOSS_RTTS = 4;
/** Least loss timeout, ms: WebRTC through a busy proxy stalls for a few hundred ms without dying. */
export const LOSS_TIMEOUT_MIN_MS = 1000;
export const LOSS_TIMEOUT_MAX_MS = 10_000;
/** Packets the peer sent later on the other carriers before silence counts as loss. */
export const LOSS_MIN_OTHER_RECEIVES = 8;
/** Least age of an unacknowledged segment that makes its carrier suspect, ms. */
const SUSPECT_MIN_MS = 100;
/** RTT assumed for a carrier before its first sample, ms. */
const DEFAULT_RTT_MS = 200;
/** Delivery rate assumed before any is measured, bytes per ms (100 kB/s). */
const DEFAULT_RATE_BYTES_PER_MS = 100;
/** Segments reinjected at most when a carrier is dropped (oldest first). */
export const REINJECT_MAX_SEGMENTS = 1024;
/**
 * A carrier's window: this many bandwidth-delay products (BBR's cwnd gain), at
 * least MIN_WINDOW_BYTES. Over a LAN the min RTT is a few ms and its BDP far
 * less than a rate-limited proxy needs to stay busy (its token bucket reads
 * the data channel in bursts): at 16 KiB two proxies capped at 1 MB/s carried
 * 1.3× the upload of one, at 64 KiB 2.0× (bench multipath).
 */
export const WINDOW_GAIN = 2;
export const MIN_WINDOW_BYTES = 64 * 1024;
/** While packets are held for want of room, how often the carriers' room is looked at again, ms. */
const HOLD_RECHECK_MS = 10;
/** Packets held at most while carriers are live but full (~5.7 MB of full segments: KCP's 4 MiB send bound, with room for retransmissions). */
export const HOLD_MAX_PACKETS = 4096;
/** A carrier quiet this long (nothing sent) gets the next packet (the bridge's WebSocket idle timeout is 60 s). */
const QUIET_SEND_MS = 10_000;
const DIAL_RETRY_MIN_MS = 1000;
const DIAL_RETRY_MAX_MS = 30_000;

/** Padding to shape idle periods: a carrier that sent nothing for `idleMs` sends `minBytes…maxBytes` of padding. */
export interface IdlePadding {
  idleMs: number;
  minBytes: number;
  maxBytes: number;
}

export interface MultipathConfig {
  /** Carriers kept live at most (≥ 1). */
  max: number;
  /** Packets held while no carrier is live. */
  queueSize: number;
  /** Least time between the starts of two replacement dials, ms. */
  minRedialIntervalMs: number;
  lossTimeoutMinMs?: number;
  lossTimeoutMaxMs?: number;
  /** Idle padding; default none. */
  idlePadding?: IdlePadding | null;
  /** Uniform in [0, 1), for padding sizes; default Math.random. */
  random?: () => number;
}

export type MultipathInput =
  /** Dial `carrier` (its attempt number) succeeded. */
  | { kind: "up"; carrier: number }
  /** Dial `carrier` failed. */
  | { kind: "dialfailed"; carrier: number; error: Error }
  /** The carrier closed or failed (its readFrom ended, or a write failed). */
  | { kind: "down"; carrier: number; reason: Error }
  /** A write of `packet` to `carrier` was refused because the carrier is closed: it goes elsewhere. */
  | { kind: "refused"; carrier: number; packet: Uint8Array; reason: Error }
  | { kind: "received"; carrier: number; packet: Uint8Array }
  /** KCP's next packet. */
  | { kind: "send"; packet: Uint8Array }
  /** The carrier's bufferedAmount now. */
  | { kind: "buffered"; carrier: number; bytes: number }
  | { kind: "close"; error: Error | null };

export type MultipathTransmit =
  | { carrier: number; packet: Uint8Array; padding?: undefined }
  | { carrier: number; padding: number; packet?: undefined };

export type MultipathEvent =
  /** Start dial `attempt`; `replacement` is false for the first `max`. */
  | { kind: "dial"; attempt: number; replacement: boolean }
  | { kind: "up"; carrier: number }
  /** The carrier is out: close it (when the scheduler dropped it, it is still open). */
  | { kind: "down"; carrier: number; reason: Error }
  /** A dial failed and will be retried at `retryAt`. */
  | { kind: "dialerror"; attempt: number; error: Error; retryAt: number }
  /** Everything is over: `error` is the dial error, or null after a close input. */
  | { kind: "close"; error: Error | null };

/** One carrier's figures, for stats and tests. */
export interface CarrierSnapshot {
  carrier: number;
  srtt: number;
  /** Delivery rate, bytes per ms. */
  rate: number;
  inflight: number;
  delivered: number;
  bufferedAmount: number;
  /** Packets and PUSH payload bytes sent on it. */
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
}

interface Carrier {
  id: number;
  estimate: CarrierEstimate;
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
}

export class MultipathScheduler {
  readonly max: number;
  readonly #queueSize: number;
  readonly #minRedialIntervalMs: number;
  readonly #lossMin: number;
  readonly #lossMax: number;
  readonly #idlePadding: IdlePadding | null;
  readonly #random: () => number;
  readonly #live = new Map<number, Carrier>();
  readonly #dialing = new Set<number>();
  readonly #tracker: DeliveryTracker;
  #transmits: MultipathTransmit[] = [];
  #transmitHead = 0;
  #events: MultipathEvent[] = [];
  /** Packets waiting for a carrier: none is live, or (with several) none has room. */
  #held: Uint8Array[] = [];
  /** Held reinjected copies (known lost with their carrier): they go first. */
  #urgent: Uint8Array[] = [];
  /** The sn of each held packet that is a single PUSH segment. */
  readonly #heldSns = new Set<number>();
  /** Sns of packets held among new data whose urgent copy went first: skipped when their turn comes. */
  readonly #skipSns = new Set<number>();
  #suppressed = 0;
  #nextAttempt = 0;
  #lastDialStart = -Infinity;
  #retryAt = -Infinity;
  #dialFailures = 0;
  /** The latest ts of the peer's PUSH segments, on any carrier (u32 ms of the peer's clock). */
  #peerTs: number | null = null;
  #roundRobin = 0;
  #closed = false;
  /** The time of the latest input or timeout. */
  #now: number;
  #droppedSend = 0;
  #reinjected = 0;
  #lost = 0;

  constructor(config: MultipathConfig, now: number) {
    if (!(Number.isInteger(config.max) && config.max >= 1)) {
      throw new RangeError(`max must be a positive integer, got ${config.max}`);
    }
    this.max = config.max;
    this.#queueSize = config.queueSize;
    this.#minRedialIntervalMs = config.minRedialIntervalMs;
    this.#lossMin = config.lossTimeoutMinMs ?? LOSS_TIMEOUT_MIN_MS;
    this.#lossMax = config.lossTimeoutMaxMs ?? LOSS_TIMEOUT_MAX_MS;
    this.#idlePadding = config.idlePadding ?? null;
    this.#random = config.random ?? Math.random;
    this.#now = now;
    this.#tracker = new DeliveryTracker({
      acked: (t, rtt, at) => {
        const carrier = this.#live.get(t.carrier);
        if (!carrier) return;
        const e = carrier.estimate;
        if (rtt !== null) e.addRtt(rtt);
        e.addDelivery(at, t.bytes, t);
      },
      // A copy no longer awaited may still sit in its carrier: the pipe forgets it only when a later one is acked.
      retired: () => {},
    });
    for (let i = 0; i < this.max; i++) this.#startDial(now, false);
  }

  /** Carriers live now. */
  get liveCarriers(): number {
    return this.#live.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Packets dropped because no carrier was live and the queue was full, or a carrier refused them for good. */
  get droppedSend(): number {
    return this.#droppedSend;
  }

  /** KCP retransmissions not sent: the previous copy was still waiting here, or on its way on a live carrier. */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Segments reinjected after a carrier was dropped. */
  get reinjected(): number {
    return this.#reinjected;
  }

  /** Carriers dropped for not delivering (not counting those that closed). */
  get lost(): number {
    return this.#lost;
  }

  /** Figures of every live carrier, in the order they came up. */
  carriers(now: number): CarrierSnapshot[] {
    return [...this.#live.values()].map((c) => ({
      carrier: c.id,
      srtt: c.estimate.srtt,
      rate: c.estimate.rate(now),
      inflight: c.estimate.inflight,
      delivered: c.estimate.delivered,
      bufferedAmount: c.estimate.bufferedAmount,
      packetsSent: c.packetsSent,
      bytesSent: c.bytesSent,
      packetsReceived: c.packetsReceived,
    }));
  }

  handleInput(now: number, input: MultipathInput): void {
    if (this.#closed) return;
    this.#now = now;
    switch (input.kind) {
      case "send":
        this.#send(now, input.packet);
        return;
      case "received":
        this.#received(now, input.carrier, input.packet);
        return;
      case "buffered": {
        const carrier = this.#live.get(input.carrier);
        if (carrier) carrier.estimate.bufferedAmount = input.bytes;
        return;
      }
      case "up":
        this.#up(now, input.carrier);
        return;
      case "dialfailed":
        this.#dialFailed(now, input.carrier, input.error);
        return;
      case "down":
        this.#drop(now, input.carrier, input.reason, null);
        return;
      case "refused":
        this.#drop(now, input.carrier, input.reason, input.packet);
        return;
      case "close":
        this.#close(input.error);
        return;
    }
  }

  handleTimeout(now: number): void {
    if (this.#closed) return;
    this.#now = now;
    this.#checkLoss(now);
    this.#release(now);
    this.#maybeDial(now);
    if (this.#idlePadding) {
      const { idleMs, minBytes, maxBytes } = this.#idlePadding;
      for (const carrier of this.#live.values()) {
        if (now - carrier.estimate.lastSendAt < idleMs) continue;
        carrier.estimate.lastSendAt = now;
        const padding = minBytes + Math.floor(this.#random() * (maxBytes - minBytes + 1));
        this.#transmits.push({ carrier: carrier.id, padding });
      }
    }
  }

  pollTransmit(): MultipathTransmit | null {
    if (this.#transmitHead >= this.#transmits.length) {
      if (this.#transmitHead > 0) {
        this.#transmits = [];
        this.#transmitHead = 0;
      }
      return null;
    }
    const transmit = this.#transmits[this.#transmitHead];
    this.#transmits[this.#transmitHead++] = undefined as unknown as MultipathTransmit;
    return transmit;
  }

  pollEvent(): MultipathEvent | null {
    return this.#events.shift() ?? null;
  }

  /** When handleTimeout next has something to do; Infinity when nothing is pending. */
  pollTimeout(): number {
    if (this.#closed) return Infinity;
    const now = this.#now;
    let next = Infinity;
    if (this.#wantsDial()) next = this.#dialDueAt();
    if (this.#held.length + this.#urgent.length > 0 && this.max > 1 && this.#live.size > 0) {
      next = Math.min(next, now + HOLD_RECHECK_MS);
    }
    if (this.#live.size >= 2) {
      for (const carrier of this.#live.values()) {
        const e = carrier.estimate;
        const t = this.#tracker.oldest(carrier.id);
        if (t && e.ackedThrough < t.sentThrough) {
          next = Math.min(next, future(now, t.sentAt + this.#lossTimeout(e, 2 * this.#lossMin)));
        }
      }
    }
    if (this.#idlePadding) {
      for (const carrier of this.#live.values()) {
        next = Math.min(next, carrier.estimate.lastSendAt + this.#idlePadding.idleMs);
      }
    }
    return next;
  }

  #send(now: number, packet: Uint8Array, urgent = false): void {
    const sn = soloPushSn(packet);
    if (sn !== null && !urgent && this.max > 1) {
      const last = this.#tracker.latest(sn);
      const carrier = last && this.#live.get(last.carrier);
      if (last && carrier && now - last.sentAt < this.#inFlightTime(carrier.estimate)) {
        // KCP's one RTO spans carriers of different RTTs: its copy is still on its way on a live carrier.
        this.#suppressed++;
        return;
      }
      // Its copy was on a carrier now gone, or is overdue there: a true retransmission goes ahead of new data.
      if (last) urgent = true;
    }
    if (this.#held.length + this.#urgent.length > 0 && this.max > 1) {
      this.#holdData(now, packet, sn, urgent); // behind the others of its kind: KCP's order is kept
      this.#release(now);
      return;
    }
    if (!this.#trySend(now, packet)) this.#holdData(now, packet, sn, urgent);
  }

  /**
   * Holds `packet`, but sends its ACKs and window segments now (split off
   * into a packet of their own): the peer's data must not wait for room for
   * ours, or one direction's window would stall the other.
   */
  #holdData(now: number, packet: Uint8Array, sn: number | null, urgent: boolean): void {
    if (this.#live.size > 0 && sn === null) {
      const [control, data] = splitControl(packet);
      if (control && data) {
        this.#trySend(now, control); // a packet of ACKs only always finds a carrier
        packet = data;
        sn = soloPushSn(data);
      }
    }
    this.#hold(packet, sn, urgent);
  }

  /** How long a segment may take on `e` before it counts as overdue there: its RTO. */
  #inFlightTime(e: CarrierEstimate): number {
    return Math.max(SUSPECT_MIN_MS, e.rto(this.#referenceRtt() * 2));
  }

  /** Sends `packet` now if a carrier can take it: the only one, or one with room in its window. */
  #trySend(now: number, packet: Uint8Array): boolean {
    if (this.#live.size === 0) return false;
    const bytes = pushBytes(packet);
    const carrier = this.max === 1 ? this.#live.values().next().value! : this.#choose(now, bytes);
    if (carrier === null) return false;
    this.#transmit(now, carrier, packet);
    return true;
  }

  #hold(packet: Uint8Array, sn: number | null, urgent: boolean): void {
    // While no carrier is live, the queue of RedialPacketConn; while carriers are only full, room for KCP's bursts.
    const bound = this.#live.size === 0 ? this.#queueSize : Math.max(this.#queueSize, HOLD_MAX_PACKETS);
    if (sn !== null && this.#heldSns.has(sn)) {
      if (!urgent) {
        // KCP's timer fired for a segment still waiting here: the copy ahead carries the same bytes.
        this.#suppressed++;
        return;
      }
      this.#skipSns.add(sn); // the copy waiting among new data is not sent when its turn comes
    }
    if (this.#held.length + this.#urgent.length >= bound) {
      this.#droppedSend++;
      return;
    }
    (urgent ? this.#urgent : this.#held).push(packet);
    if (sn !== null) this.#heldSns.add(sn);
  }

  /** Sends held packets, urgent ones first, each kind in order, while carriers have room. */
  #release(now: number): void {
    while (this.#urgent.length > 0 && this.#trySend(now, this.#urgent[0])) {
      const sn = soloPushSn(this.#urgent.shift()!);
      if (sn !== null && !this.#skipSns.has(sn)) this.#heldSns.delete(sn);
    }
    if (this.#urgent.length > 0) return;
    while (this.#held.length > 0) {
      const sn = soloPushSn(this.#held[0]);
      if (sn !== null && this.#skipSns.delete(sn)) {
        this.#held.shift();
        this.#heldSns.delete(sn);
        continue;
      }
      if (!this.#trySend(now, this.#held[0])) return;
      this.#held.shift();
      if (sn !== null) this.#heldSns.delete(sn);
    }
  }

  #transmit(now: number, carrier: Carrier, packet: Uint8Array): void {
    const e = carrier.estimate;
    e.sentTotal += packet.length;
    const bytes = this.#tracker.onSend(carrier.id, packet, now, e);
    e.lastSendAt = now;
    carrier.packetsSent++;
    carrier.bytesSent += bytes;
    this.#transmits.push({ carrier: carrier.id, packet });
  }

  #received(now: number, id: number, packet: Uint8Array): void {
    const carrier = this.#live.get(id);
    if (!carrier) return; // a late packet from a dropped carrier: the adapter still delivers it
    const pushTs = this.#tracker.onReceive(packet, now);
    carrier.packetsReceived++;
    const e = carrier.estimate;
    e.lastReceiveAt = now;
    e.othersFirstPeerTs = null;
    e.othersFresh = 0;
    if (pushTs !== null) {
      if (e.lastPeerTs === null || timediff(pushTs, e.lastPeerTs) > 0) e.lastPeerTs = pushTs;
      if (this.#peerTs === null || timediff(pushTs, this.#peerTs) > 0) this.#peerTs = pushTs;
      for (const other of this.#live.values()) {
        const o = other.estimate;
        if (other === carrier || (o.lastPeerTs !== null && timediff(pushTs, o.lastPeerTs) <= 0)) continue;
        o.othersFirstPeerTs ??= pushTs;
        o.othersFresh++;
      }
    }
    if (this.#live.size >= 2) this.#checkLoss(now);
    if (this.max > 1) this.#release(now);
  }

  /**
   * The carrier for a packet with `bytes` of PUSH payload (two or more live):
   * round-robin for a packet of ACKs only; else, among those with room in
   * their window (not suspect, unless all are), the one where it arrives first.
   * Null when none has room.
   */
  #choose(now: number, bytes: number): Carrier | null {
    let candidates = [...this.#live.values()].filter((c) => !this.#isSuspect(now, c));
    if (candidates.length === 0) candidates = [...this.#live.values()];
    // A carrier that has sent nothing for a while gets the next packet, whatever it is: the bridge closes a
    // WebSocket that brings no bytes for 60 s, and a carrier never used is never measured.
    for (const c of candidates) {
      if (now - c.estimate.lastSendAt >= QUIET_SEND_MS && (bytes === 0 || c.estimate.inflight === 0)) {
        return c;
      }
    }
    if (bytes === 0) return candidates[this.#roundRobin++ % candidates.length];
    let priorRate = 0;
    let priorRtt = Infinity;
    for (const c of this.#live.values()) {
      priorRate = Math.max(priorRate, c.estimate.rate(now));
      if (c.estimate.srtt > 0) priorRtt = Math.min(priorRtt, c.estimate.srtt);
    }
    if (priorRate === 0) priorRate = DEFAULT_RATE_BYTES_PER_MS;
    if (priorRtt === Infinity) priorRtt = DEFAULT_RTT_MS;
    let best: Carrier | null = null;
    let bestCost = Infinity;
    for (const c of candidates) {
      const e = c.estimate;
      const measured = e.rate(now);
      // Nothing awaited on it and quiet for an RTO: what the pipe held was lost or is out.
      if (
        e.inflight > 0 && this.#tracker.oldest(c.id) === undefined && now - e.lastSendAt > e.rto(priorRtt * 2)
      ) {
        e.emptyPipe();
      }
      if (e.inflight > 0 && e.inflight + bytes > this.#window(e, measured)) continue;
      const rate = measured || priorRate;
      const srtt = e.srtt || priorRtt;
      const bdp = e.minRtt === Infinity ? 0 : rate * e.minRtt;
      const queued = Math.max(e.bufferedAmount, e.inflight - bdp);
      const cost = (queued + bytes) / rate + srtt / 2;
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    return best;
  }

  /** Bytes a carrier may hold unacknowledged: WINDOW_GAIN bandwidth-delay products, at least MIN_WINDOW_BYTES. */
  #window(e: CarrierEstimate, rate: number): number {
    if (rate === 0 || e.minRtt === Infinity) return MIN_WINDOW_BYTES;
    return Math.max(MIN_WINDOW_BYTES, WINDOW_GAIN * rate * e.minRtt);
  }

  /** Nothing sent on it since its oldest outstanding segment has been acknowledged, for longer than its RTO. */
  #isSuspect(now: number, carrier: Carrier): boolean {
    const t = this.#tracker.oldest(carrier.id);
    if (!t) return false;
    const e = carrier.estimate;
    if (e.ackedThrough >= t.sentThrough) return false;
    return now - t.sentAt > Math.max(SUSPECT_MIN_MS, e.rto(this.#referenceRtt() * 2));
  }

  #referenceRtt(): number {
    let best = Infinity;
    for (const c of this.#live.values()) if (c.estimate.srtt > 0) best = Math.min(best, c.estimate.srtt);
    return best === Infinity ? DEFAULT_RTT_MS : best;
  }

  /** `unmeasured`: the timeout for a carrier with no RTT sample yet (a slow new proxy is not lost). */
  #lossTimeout(e: CarrierEstimate, unmeasured = this.#lossMin): number {
    if (e.srtt === 0) return unmeasured;
    const timeout = Math.max(LOSS_RTTS * e.srtt, e.rto(0));
    return Math.min(this.#lossMax, Math.max(this.#lossMin, timeout));
  }

  #checkLoss(now: number): void {
    if (this.#live.size < 2) return;
    for (const carrier of [...this.#live.values()]) {
      if (this.#live.size < 2) return;
      const reason = this.#lossReason(now, carrier);
      if (reason) {
        this.#lost++;
        this.#drop(now, carrier.id, new CarrierLostError(reason), null);
      }
    }
  }

  #lossReason(now: number, carrier: Carrier): string | null {
    const e = carrier.estimate;
    const timeout = this.#lossTimeout(e);
    const t = this.#tracker.oldest(carrier.id);
    if (t && e.ackedThrough < t.sentThrough && now - t.sentAt >= this.#lossTimeout(e, 2 * this.#lossMin)) {
      for (const other of this.#live.values()) {
        if (other !== carrier && other.estimate.lastAckedSentAt > t.sentAt) {
          return `nothing it carried was acknowledged for ${
            Math.round(now - t.sentAt)
          } ms while others delivered`;
        }
      }
    }
    // The peer sends on whichever of the client's WebSockets is free: if it went on sending elsewhere for the
    // loss timeout, by its own clock, while this one brought nothing, this one is gone. (Old packets draining
    // from a slow carrier's queue do not count, nor does a pause of the peer: only its clock between packets.)
    const first = e.othersFirstPeerTs;
    if (
      first !== null && this.#peerTs !== null && timediff(this.#peerTs, first) >= timeout &&
      now - e.lastReceiveAt >= timeout && e.othersFresh >= LOSS_MIN_OTHER_RECEIVES
    ) {
      return `nothing received on it for ${
        Math.round(now - e.lastReceiveAt)
      } ms while the peer sent on others`;
    }
    return null;
  }

  #up(now: number, id: number): void {
    if (!this.#dialing.delete(id)) return;
    this.#dialFailures = 0;
    const carrier: Carrier = {
      id,
      estimate: new CarrierEstimate(now),
      packetsSent: 0,
      bytesSent: 0,
      packetsReceived: 0,
    };
    this.#live.set(id, carrier);
    this.#events.push({ kind: "up", carrier: id });
    this.#release(now);
  }

  #dialFailed(now: number, id: number, error: Error): void {
    if (!this.#dialing.delete(id)) return;
    if (this.#live.size === 0 && this.#dialing.size === 0) {
      this.#close(error);
      return;
    }
    this.#dialFailures++;
    const backoff = Math.min(DIAL_RETRY_MAX_MS, DIAL_RETRY_MIN_MS * 2 ** (this.#dialFailures - 1));
    this.#retryAt = now + Math.max(backoff, this.#minRedialIntervalMs);
    this.#events.push({ kind: "dialerror", attempt: id, error, retryAt: this.#retryAt });
  }

  /** Takes `id` out; `refused` (a packet its write refused) goes elsewhere first, then its orphans are reinjected. */
  #drop(now: number, id: number, reason: Error, refused: Uint8Array | null): void {
    const carrier = this.#live.get(id);
    if (!carrier) {
      if (refused) this.#send(now, refused); // already dropped: just resend
      return;
    }
    this.#live.delete(id);
    this.#events.push({ kind: "down", carrier: id, reason });
    if (refused) this.#send(now, refused);
    const orphans = this.#tracker.removeCarrier(id);
    // With no other carrier the orphans would only wait in the queue with a stale ts: leave them to KCP.
    if (this.#live.size > 0) this.#reinject(now, orphans.slice(0, REINJECT_MAX_SEGMENTS));
    // The replacement is dialed from handleTimeout (pollTimeout says when), so a carrier that dies at once
    // cannot redial in a loop that never yields.
  }

  #reinject(now: number, orphans: Transmission[]): void {
    for (const t of orphans) {
      const length = SEGMENT_HEADER_SIZE + t.bytes;
      const segment = t.packet.slice(t.offset, t.offset + length);
      writeU32(segment, 8, (readU32(segment, 8) + Math.round(now - t.sentAt)) >>> 0);
      this.#reinjected++;
      this.#send(now, segment, true);
    }
  }

  #wantsDial(): boolean {
    return this.#live.size + this.#dialing.size < this.max;
  }

  #dialDueAt(): number {
    return Math.max(this.#lastDialStart + this.#minRedialIntervalMs, this.#retryAt);
  }

  #maybeDial(now: number): void {
    while (!this.#closed && this.#wantsDial() && this.#dialDueAt() <= now) this.#startDial(now, true);
  }

  #startDial(now: number, replacement: boolean): void {
    const attempt = this.#nextAttempt++;
    this.#dialing.add(attempt);
    this.#lastDialStart = now;
    this.#events.push({ kind: "dial", attempt, replacement });
  }

  #close(error: Error | null): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of this.#live.keys()) this.#tracker.removeCarrier(id);
    this.#live.clear();
    this.#dialing.clear();
    this.#held = [];
    this.#urgent = [];
    this.#heldSns.clear();
    this.#skipSns.clear();
    this.#transmits = [];
    this.#transmitHead = 0;
    this.#events.push({ kind: "close", error });
  }
}

/** `at` if it is still to come, else Infinity: a deadline already past waits for an input to be checked again. */
function future(now: number, at: number): number {
  return at > now ? at : Infinity;
}
