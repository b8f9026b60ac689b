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
 */

import { SEGMENT_HEADER_SIZE, writeHeader } from "./segment.ts";

const SLAB_BYTES = 64 * 1024; // a new slab when a packet of mtu bytes would not fit in what is left
const shared = { slab: new Uint8Array(SLAB_BYTES), end: 0 };

export class PacketWriter {
  /** Where this writer's packet in progress starts in the shared slab; −1 when none. */
  #start = -1;
  /** Receives each finished packet. */
  out: (packet: Uint8Array) => void = () => {};

  constructor(readonly conv: number, readonly mtu: number) {}

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
    const size = SEGMENT_HEADER_SIZE + data.length;
    if (this.#start >= 0 && shared.end - this.#start + size > this.mtu) this.emit();
    if (this.#start < 0) {
      if (shared.slab.length - shared.end < this.mtu) {
        shared.slab = new Uint8Array(SLAB_BYTES);
        shared.end = 0;
      }
      this.#start = shared.end;
    }
    writeHeader(shared.slab, shared.end, this.conv, cmd, frg, wnd, ts, sn, una, data.length);
    shared.slab.set(data, shared.end + SEGMENT_HEADER_SIZE);
    shared.end += size;
  }

  /** Hands the current packet, if any, to {@link out}. */
  emit(): void {
    if (this.#start < 0) return;
    const packet = shared.slab.subarray(this.#start, shared.end);
    this.#start = -1;
    this.out(packet);
  }
}
