/**
 * Packs segments into output packets the way kcp-go's flush does (KCP-SMUX.md
 * §1.3): segments go into the current packet until the next one would pass the
 * MTU, then the packet is emitted. Packets are carved out of a shared slab, so
 * emitting one costs a view, not an allocation; each emitted view is never
 * written again, since the PacketConn owns it afterwards.
 */

import { SEGMENT_HEADER_SIZE, writeHeader } from "./segment.ts";

const SLAB_BYTES = 64 * 1024; // a new slab when less than one MTU is left; old ones live while their packets do

export class PacketWriter {
  #slab = new Uint8Array(SLAB_BYTES);
  #start = 0;
  #end = 0;
  /** Receives each finished packet. */
  out: (packet: Uint8Array) => void = () => {};

  constructor(readonly mtu: number) {}

  /** Emits the current packet first if `bytes` more would not fit in the MTU (kcp-go makeSpace). */
  makeSpace(bytes: number): void {
    if (this.#end - this.#start + bytes > this.mtu) this.emit();
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
    writeHeader(this.#slab, this.#end, conv, cmd, frg, wnd, ts, sn, una, len);
    this.#end += SEGMENT_HEADER_SIZE;
  }

  /** Appends payload bytes after a header. */
  data(bytes: Uint8Array): void {
    this.#slab.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** Hands the current packet, if any, to {@link out}. */
  emit(): void {
    if (this.#end === this.#start) return;
    const packet = this.#slab.subarray(this.#start, this.#end);
    if (this.#slab.length - this.#end < this.mtu) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#end = 0;
    }
    this.#start = this.#end;
    this.out(packet);
  }
}
