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
 * A writer whose consumer copies each packet before returning (`reuse`: a
 * PacketConn with copiesOnWrite, packet_conn_extensions.ts) encodes every
 * packet into one mtu-sized buffer of its own instead: no slab to allocate and
 * zero, and the bytes stay in cache.
 */

import { SEGMENT_HEADER_SIZE, writeHeader } from "./segment.ts";

const SLAB_BYTES = 64 * 1024; // a new slab when a packet of mtu bytes would not fit in what is left
const shared = { slab: new Uint8Array(SLAB_BYTES), end: 0 };

export class PacketWriter {
  /** Where this writer's packet in progress starts in the slab; −1 when none. */
  #start = -1;
  /** The shared slab, or this writer's own buffer when it reuses one. */
  readonly #store: { slab: Uint8Array; end: number };
  /** Receives each finished packet. */
  out: (packet: Uint8Array) => void = () => {};

  /** `reuse`: `out` copies each packet before it returns, so one buffer serves every packet (see the module doc). */
  constructor(readonly conv: number, readonly mtu: number, readonly reuse = false) {
    this.#store = reuse ? { slab: new Uint8Array(mtu), end: 0 } : shared;
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
      if (store.slab.length - store.end < this.mtu) { // never for an own buffer: emit empties it
        store.slab = new Uint8Array(SLAB_BYTES);
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
    if (this.reuse) store.end = 0;
    this.out(packet);
  }
}
