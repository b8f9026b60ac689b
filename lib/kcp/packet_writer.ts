/**
 * Packs segments into output packets the way kcp-go's flush does (KCP-SMUX.md
 * §1.3): segments go into the current packet until the next one would pass the
 * MTU, then the packet is emitted. Packets are carved out of one slab shared by
 * every writer in the process, so emitting one costs a view, not an allocation,
 * and an idle session holds no buffer. Each emitted view is never written again
 * (the PacketConn owns it); a slab lives as long as any packet cut from it.
 *
 * Sharing is safe because a packet is built synchronously between the first
 * `makeSpace` and `emit`, and nothing in between can run another writer.
 */

import { SEGMENT_HEADER_SIZE, writeHeader } from "./segment.ts";

const SLAB_BYTES = 64 * 1024; // a new slab when a packet of mtu bytes would not fit in what is left
const shared = { slab: new Uint8Array(SLAB_BYTES), end: 0 };

export class PacketWriter {
  /** Where this writer's packet in progress starts in the shared slab; −1 when none. */
  #start = -1;
  /** Receives each finished packet. */
  out: (packet: Uint8Array) => void = () => {};

  constructor(readonly mtu: number) {}

  /** Emits the current packet first if `bytes` more would not fit in the MTU (kcp-go makeSpace); starts a packet if none. */
  makeSpace(bytes: number): void {
    if (this.#start >= 0 && shared.end - this.#start + bytes > this.mtu) this.emit();
    if (this.#start < 0) {
      if (shared.slab.length - shared.end < this.mtu) {
        shared.slab = new Uint8Array(SLAB_BYTES);
        shared.end = 0;
      }
      this.#start = shared.end;
    }
  }

  /** Appends a segment header; call {@link makeSpace} first. */
  header(
    conv: number,
    cmd: number,
    frg: number,
    wnd: number,
    ts: number,
    sn: number,
    una: number,
    len: number,
  ): void {
    writeHeader(shared.slab, shared.end, conv, cmd, frg, wnd, ts, sn, una, len);
    shared.end += SEGMENT_HEADER_SIZE;
  }

  /** Appends payload bytes after a header. */
  data(bytes: Uint8Array): void {
    shared.slab.set(bytes, shared.end);
    shared.end += bytes.length;
  }

  /** Hands the current packet, if any, to {@link out}. */
  emit(): void {
    if (this.#start < 0) return;
    const packet = shared.slab.subarray(this.#start, shared.end);
    this.#start = -1;
    if (packet.length > 0) this.out(packet);
  }
}
