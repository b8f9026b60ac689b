/**
 * A PacketConn wrapper that drops packets with a seeded probability, on
 * sending and on receiving: the TypeScript twin of the Go peer's dropper, for
 * the lossy conformance cases and the 1 % loss bench.
 */

import type { Packet, PacketConn } from "../../../lib/net/packet_conn.ts";

export class LossyPacketConn implements PacketConn {
  /** Packets dropped so far, both directions. */
  dropped = 0;
  #inner: PacketConn;
  #loss: number;
  #state: number;

  constructor(inner: PacketConn, loss: number, seed: number) {
    this.#inner = inner;
    this.#loss = loss;
    this.#state = seed >>> 0;
  }

  async readFrom(): Promise<Packet | null> {
    for (;;) {
      const packet = await this.#inner.readFrom();
      if (packet === null || !this.#drop()) return packet;
    }
  }

  writeTo(packet: Uint8Array, addr: string): void {
    if (!this.#drop()) this.#inner.writeTo(packet, addr);
  }

  close(): void {
    this.#inner.close();
  }

  #drop(): boolean {
    if (this.#loss <= 0 || this.#random() >= this.#loss) return false;
    this.dropped++;
    return true;
  }

  /** mulberry32: a small seeded PRNG, uniform in [0, 1). */
  #random(): number {
    let t = this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
