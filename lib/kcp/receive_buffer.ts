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
 * stream cannot wedge on out-of-order data. Memory stays ≤ maxBytes + one slab +
 * one segment.
 *
 * In-order data is kept as a view of the received packet (no copy until
 * {@link read} joins it; the application reads it soon, or the window closes).
 * Out-of-order data is copied into slabs (slab_store.ts), charged by the slabs it
 * pins, so a long-lived hole never pins the packet buffers it arrived in.
 */

import { concat } from "../util/bytes.ts";
import { Ring } from "./ring.ts";
import { type Slab, SlabStore } from "./slab_store.ts";
import { timediff } from "./u32.ts";

const EMPTY = new Uint8Array(0);
/** Bytes charged per held segment beyond its payload (object, map entry). */
export const SEGMENT_CHARGE = 64;
const MAX_SLAB_BYTES = 16 * 1024;
/**
 * Stream mode: a read joins ready segments until it holds this many bytes
 * (ours; kcp-go's Read fills the caller's buffer). Joining everything ready (up
 * to the whole window after one batch of input) would make chunks so large
 * that smux copies its frames out of them again (frame_reader.ts keepOrCopy).
 */
export const STREAM_READ_BYTES = 64 * 1024;

/** Slab size for a budget: 16 KiB, or 1/16 of a small budget so that slab rounding stays small against it. */
function slabBytesFor(maxBytes: number): number {
  return Math.min(MAX_SLAB_BYTES, Math.floor(maxBytes / 16));
}

/** The most a ReceiveBuffer with budget `maxBytes` holds: the budget, one slab, one segment (see the module doc). */
export function receiveMemoryBound(maxBytes: number, mss: number): number {
  return maxBytes + slabBytesFor(maxBytes) + mss + SEGMENT_CHARGE;
}

interface HeldSegment {
  data: Uint8Array;
  frg: number;
  /** Where `data` was copied; null for an empty segment. */
  slab: Slab | null;
}

export class ReceiveBuffer {
  /** Next sn expected in order (rcv_nxt). */
  rcvNxt: number;
  /** Set when a read reopens a window that was 0: kcp-go's "fast recover" unsolicited WINS. */
  windowReopened = false;
  #outOfOrder = new Map<number, HeldSegment>();
  #slabs: SlabStore;
  #queue = new Ring<Uint8Array>();
  #queueFrgs = new Ring<number>();
  /** The slab of each queued segment that came out of order; null for views of received packets. */
  #queueSlabs = new Ring<Slab | null>();
  /** Payload bytes in rcv_queue. */
  #queueBytes = 0;
  /** Payload bytes in rcv_queue held as views of received packets. */
  #queueViewBytes = 0;

  constructor(
    readonly rcvWnd: number,
    readonly streamMode: boolean,
    readonly mss: number,
    readonly maxBytes: number,
    initialSn: number,
  ) {
    this.rcvNxt = initialSn >>> 0;
    this.#slabs = new SlabStore(slabBytesFor(maxBytes));
  }

  /** Payload bytes ready for the application. */
  get readyBytes(): number {
    return this.#queueBytes;
  }

  /** Bytes held (ready and out of order) as the budget counts them: views, pinned slabs, SEGMENT_CHARGE per segment. */
  get heldBytes(): number {
    const segments = this.#queue.length + this.#outOfOrder.size;
    return this.#queueViewBytes + this.#slabs.pinnedBytes + SEGMENT_CHARGE * segments;
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
      this.#enqueue(data, frg, null);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      if (this.#outOfOrder.size > 0) this.#moveReady();
    } else if (data.length === 0) {
      this.#outOfOrder.set(sn, { data: EMPTY, frg, slab: null });
    } else {
      const slab = this.#slabs.store(data);
      this.#outOfOrder.set(sn, { data: slab.bytes.subarray(slab.used - data.length, slab.used), frg, slab });
    }
    return true;
  }

  /**
   * Data for the application, or null: in stream mode the ready bytes in one
   * array (segments joined up to {@link STREAM_READ_BYTES}); in message mode one whole message. Refills rcv_queue from rcv_buf as
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
    while (total < STREAM_READ_BYTES) {
      if (this.#queue.length === 0) {
        if (this.#outOfOrder.size === 0) break;
        this.#moveReady();
        if (this.#queue.length === 0) break;
      }
      const part = this.#dequeue();
      if (part.length > 0) parts.push(part);
      total += part.length;
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
    const out = count === 1 && this.#queueSlabs.at(0) === null ? queue.at(0) : new Uint8Array(total);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const part = this.#dequeue();
      if (out !== part) out.set(part, offset);
      offset += part.length;
    }
    this.#moveReady();
    return total === 0 ? EMPTY : out;
  }

  /** Ring slots allocated for rcv_queue (memory held whether or not anything is queued). */
  get slots(): number {
    return this.#queue.capacity + this.#queueFrgs.capacity + this.#queueSlabs.capacity;
  }

  /**
   * Whether {@link shrink} would give memory back: rcv_queue is empty (all read) and its rings grew.
   * rcv_buf needs nothing: V8 shrinks a Map's table as entries are deleted.
   */
  get canShrink(): boolean {
    return this.#queue.canShrink || this.#queueFrgs.canShrink || this.#queueSlabs.canShrink;
  }

  /** Shrinks rcv_queue's emptied rings back to their initial capacity (after a burst of input). */
  shrink(): void {
    this.#queue.shrink();
    this.#queueFrgs.shrink();
    this.#queueSlabs.shrink();
  }

  #enqueue(data: Uint8Array, frg: number, slab: Slab | null): void {
    this.#queue.push(data);
    this.#queueFrgs.push(frg);
    this.#queueSlabs.push(slab);
    this.#queueBytes += data.length;
    if (slab === null) this.#queueViewBytes += data.length;
  }

  /** Takes the head of rcv_queue. A slab-backed part stays valid: slabs are never rewritten. */
  #dequeue(): Uint8Array {
    const data = this.#queue.shift();
    this.#queueFrgs.shift();
    const slab = this.#queueSlabs.shift();
    this.#queueBytes -= data.length;
    if (slab === null) this.#queueViewBytes -= data.length;
    else this.#slabs.release(slab);
    return data;
  }

  /** Moves rcv_buf segments that continue the in-order stream into rcv_queue, up to rcvWnd segments. */
  #moveReady(): void {
    while (this.#queue.length < this.rcvWnd) {
      const held = this.#outOfOrder.get(this.rcvNxt);
      if (held === undefined) return;
      this.#outOfOrder.delete(this.rcvNxt);
      this.#enqueue(held.data, held.frg, held.slab);
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
    }
  }
}
