/**
 * The receive side of the ARQ machine: kcp-go's rcv_buf (out-of-order
 * segments) and rcv_queue (in order, ready for the application), with
 * `parse_data`, `Recv` and `wnd_unused` semantics (KCP-SMUX.md §4.9).
 *
 * Bounds: rcv_queue holds at most rcvWnd segments and rcv_buf only sn in
 * [rcvNxt, rcvNxt + rcvWnd), as in kcp-go. On top of that (ours), the bytes held
 * in both (each segment charged its payload plus {@link SEGMENT_CHARGE}, so empty
 * segments are not free) are kept under `maxBytes`: a new PUSH that would pass it is
 * refused (not buffered and not acknowledged, so the peer sends it again later),
 * and the advertised window shrinks to what fits in the budget, so a peer that
 * follows `wnd` never hits the refusal. The one exception is the segment at
 * rcvNxt while nothing waits for the application: it is always taken, so the
 * stream cannot wedge on out-of-order data. Memory stays ≤ maxBytes + one segment.
 *
 * In-order data is kept as a view of the received packet (no copy until
 * {@link read} joins it); out-of-order data is copied so that a long-lived hole
 * never pins the packet buffers it arrived in.
 */

import { concat } from "../util/bytes.ts";
import { Ring } from "./ring.ts";
import { timediff } from "./u32.ts";

const EMPTY = new Uint8Array(0);
/** Bytes charged per held segment beyond its payload (object, map entry). */
export const SEGMENT_CHARGE = 64;

interface HeldSegment {
  data: Uint8Array;
  frg: number;
}

export class ReceiveBuffer {
  /** Next sn expected in order (rcv_nxt). */
  rcvNxt: number;
  /** Set when a read reopens a window that was 0: kcp-go's "fast recover" unsolicited WINS. */
  windowReopened = false;
  #outOfOrder = new Map<number, HeldSegment>();
  #outOfOrderBytes = 0;
  #queue = new Ring<Uint8Array>();
  #queueFrgs = new Ring<number>();
  #queueBytes = 0;

  constructor(
    readonly rcvWnd: number,
    readonly streamMode: boolean,
    readonly mss: number,
    readonly maxBytes: number,
    initialSn: number,
  ) {
    this.rcvNxt = initialSn >>> 0;
  }

  /** Payload bytes ready for the application. */
  get readyBytes(): number {
    return this.#queueBytes;
  }

  /** Bytes held (ready and out of order) as the budget counts them: payload + SEGMENT_CHARGE per segment. */
  get heldBytes(): number {
    return this.#queueBytes + this.#outOfOrderBytes +
      SEGMENT_CHARGE * (this.#queue.length + this.#outOfOrder.size);
  }

  /** Segments in rcv_buf (out of order). */
  get outOfOrderSegments(): number {
    return this.#outOfOrder.size;
  }

  /** The advertised window: rcvWnd − len(rcv_queue), floored at 0, and (ours) no more segments than the byte budget has room for. */
  wndUnused(): number {
    let wnd = this.rcvWnd - this.#queue.length;
    if (this.maxBytes !== Infinity) {
      const queued = this.#queueBytes + SEGMENT_CHARGE * this.#queue.length;
      const room = Math.floor((this.maxBytes - queued) / (this.mss + SEGMENT_CHARGE));
      if (room < wnd) wnd = room;
    }
    return wnd > 0 ? wnd : 0;
  }

  /**
   * A PUSH whose sn is below rcvNxt + rcvWnd. Returns whether to acknowledge it:
   * true for old and duplicate segments (kcp-go re-acks them) and for new data
   * taken; false when the byte budget refuses it.
   */
  push(sn: number, frg: number, data: Uint8Array): boolean {
    const offset = timediff(sn, this.rcvNxt);
    if (offset < 0) return true;
    const inOrder = offset === 0 && this.#queue.length < this.rcvWnd;
    if (!inOrder && this.#outOfOrder.has(sn)) return true;
    if (
      this.heldBytes + data.length + SEGMENT_CHARGE > this.maxBytes &&
      !(offset === 0 && this.#queue.length === 0)
    ) {
      return false;
    }
    if (inOrder) {
      this.#enqueue(data, frg);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      if (this.#outOfOrder.size > 0) this.#moveReady();
    } else {
      this.#outOfOrder.set(sn, { data: data.slice(), frg });
      this.#outOfOrderBytes += data.length;
    }
    return true;
  }

  /**
   * Data for the application, or null: in stream mode every ready byte in one
   * array; in message mode one whole message. Refills rcv_queue from rcv_buf as
   * kcp-go's Recv does. A zero-length segment (never sent by kcp-go, and one that
   * would stall Go's reader forever) is consumed as no data.
   */
  read(): Uint8Array | null {
    const wasClosed = this.wndUnused() === 0;
    const data = this.streamMode ? this.#readStream() : this.#readMessage();
    if (wasClosed && this.wndUnused() > 0) this.windowReopened = true;
    return data;
  }

  #readStream(): Uint8Array | null {
    if (this.#queue.length === 0) return null;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (this.#queue.length > 0) {
      while (this.#queue.length > 0) {
        const part = this.#queue.shift();
        this.#queueFrgs.shift();
        if (part.length > 0) parts.push(part);
        total += part.length;
      }
      this.#queueBytes = 0;
      if (this.#outOfOrder.size > 0) this.#moveReady();
    }
    if (total === 0) return null;
    return parts.length === 1 ? parts[0] : concat(parts);
  }

  #readMessage(): Uint8Array | null {
    const queue = this.#queue;
    if (queue.length === 0) return null;
    let count = 0;
    let total = 0;
    for (;;) {
      if (count === queue.length) return null; // fragments still missing
      total += queue.at(count).length;
      if (this.#queueFrgs.at(count++) === 0) break;
    }
    const out = count === 1 ? queue.at(0) : new Uint8Array(total);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const part = queue.shift();
      this.#queueFrgs.shift();
      if (count > 1) out.set(part, offset);
      offset += part.length;
    }
    this.#queueBytes -= total;
    this.#moveReady();
    return total === 0 ? EMPTY : out;
  }

  #enqueue(data: Uint8Array, frg: number): void {
    this.#queue.push(data);
    this.#queueFrgs.push(frg);
    this.#queueBytes += data.length;
  }

  /** Moves rcv_buf segments that continue the in-order stream into rcv_queue, up to rcvWnd segments. */
  #moveReady(): void {
    while (this.#queue.length < this.rcvWnd) {
      const held = this.#outOfOrder.get(this.rcvNxt);
      if (held === undefined) return;
      this.#outOfOrder.delete(this.rcvNxt);
      this.#outOfOrderBytes -= held.data.length;
      this.#enqueue(held.data, held.frg);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    }
  }
}
