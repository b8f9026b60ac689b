/**
 * Packs segments into output packets the way kcp-go's flush does (KCP-SMUX.md
 * §1.3): segments go into the current packet until the next one would pass the
 * MTU, then the packet is emitted. Packets are carved out of one slab shared by
 * every writer in the process, so emitting one costs a view, not an allocation,
 * and an idle session holds no buffer. Each emitted view is never written again
 * (the PacketConn owns it); a slab lives as long as any packet cut from it.
 *
 * Sharing is safe because a packet is built synchronously between its first
 * `segment` and `emit`, and nothing in between can run another writer.
 *
 * A writer whose packets are copied before its owner {@link PacketWriter.recycle}s
 * it (`reuse`: the Arq's transmit queue drained into a PacketConn with
 * copiesOnWrite, packet_conn_extensions.ts) carves them out of a slab of its own
 * instead, from the start again after each recycle: no slab to allocate and
 * zero per 64 KiB sent, and the bytes stay in cache. The slab is made on the
 * first packet and let go by {@link PacketWriter.release} (an idle machine's trim).
 */

import { SEGMENT_HEADER_SIZE, writeHeader } from "./segment.ts";

const SLAB_BYTES = 64 * 1024; // a new slab when a packet of mtu bytes would not fit in what is left
const shared = { slab: new Uint8Array(SLAB_BYTES), end: 0 };
const OWN_SLAB_MAX_BYTES = 1024 * 1024; // a reusing writer's slab grows no larger; bigger flushes take more slabs
const EMPTY = new Uint8Array(0);

export class PacketWriter {
  /** Where this writer's packet in progress starts in the slab; −1 when none. */
  #start = -1;
  /** The shared slab, or this writer's own when it reuses one. */
  readonly #store: { slab: Uint8Array; end: number };
  /** Receives each finished packet. */
  out: (packet: Uint8Array) => void = () => {};

  /** `reuse`: every packet is copied before {@link recycle} (see the module doc). */
  constructor(readonly conv: number, readonly mtu: number, readonly reuse = false) {
    this.#store = reuse ? { slab: EMPTY, end: 0 } : shared;
  }

  /** Every packet emitted so far has been copied: an own slab is written from its start again. */
  recycle(): void {
    if (this.reuse && this.#start < 0) this.#store.end = 0;
  }

  /** Lets an own slab go (the next packet makes a new one); for an idle owner. */
  release(): void {
    if (this.reuse && this.#start < 0) this.#store.slab = EMPTY;
  }

  /**
   * Appends one segment of this conversation; first emits the current packet if
   * the segment would not fit in the MTU with it (kcp-go makeSpace).
   */
  segment(
    cmd: number,
    frg: number,
    wnd: number,
    ts: number,
    sn: number,
    una: number,
    data: Uint8Array,
  ): void {
    const store = this.#store;
    const size = SEGMENT_HEADER_SIZE + data.length;
    if (this.#start >= 0 && store.end - this.#start + size > this.mtu) this.emit();
    if (this.#start < 0) {
      if (store.slab.length - store.end < this.mtu) {
        // an own slab grows to hold a whole flush (then recycle reuses all of it), up to OWN_SLAB_MAX_BYTES
        const size = this.reuse
          ? Math.min(OWN_SLAB_MAX_BYTES, Math.max(SLAB_BYTES, 2 * store.slab.length))
          : SLAB_BYTES;
        store.slab = new Uint8Array(size);
        store.end = 0;
      }
      this.#start = store.end;
    }
    writeHeader(store.slab, store.end, this.conv, cmd, frg, wnd, ts, sn, una, data.length);
    store.slab.set(data, store.end + SEGMENT_HEADER_SIZE);
    store.end += size;
  }

  /** Hands the current packet, if any, to {@link out}. */
  emit(): void {
    if (this.#start < 0) return;
    const store = this.#store;
    const packet = store.slab.subarray(this.#start, store.end);
    this.#start = -1;
    this.out(packet);
  }
}
