/**
 * A PacketConn wrapper that drops packets with a seeded probability, on
 * sending and on receiving: the TypeScript twin of the Go peer's dropper, for
 * the lossy conformance cases and the 1 % loss bench.
 */

import type { Packet, PacketConn } from "../../../lib/net/packet_conn.ts";
import { Prng } from "../../support/random.ts";

export class LossyPacketConn implements PacketConn {
  /** Packets dropped so far, both directions. */
  dropped = 0;
  #inner: PacketConn;
  #loss: number;
  readonly #random: Prng;

  constructor(inner: PacketConn, loss: number, seed: number) {
    this.#inner = inner;
    this.#loss = loss;
    this.#random = new Prng(seed);
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
    if (this.#loss <= 0 || this.#random.next() >= this.#loss) return false;
    this.dropped++;
    return true;
  }
}
