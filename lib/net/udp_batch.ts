/**
 * Many datagrams in one message between threads (lib/net/udp.ts and its
 * worker): the payloads back to back in one transferable buffer, their lengths,
 * and their addresses as indexes into a table (a batch usually holds one or two
 * distinct addresses, so strings are not cloned per packet).
 */

export interface Batch {
  /** Payloads back to back from offset 0 (the buffer may be longer than their sum). */
  data: ArrayBuffer;
  lengths: Uint32Array;
  addrIndexes: Uint32Array;
  addrTable: string[];
}

export class BatchWriter {
  #data: Uint8Array;
  #size = 0;
  #lengths: number[] = [];
  #addrIndexes: number[] = [];
  #addrTable: string[] = [];
  #addrLookup = new Map<string, number>();

  constructor(initialCapacity = 4096) {
    this.#data = new Uint8Array(initialCapacity);
  }

  get count(): number {
    return this.#lengths.length;
  }

  /** Copies `packet` in. */
  add(packet: Uint8Array, addr: string): void {
    if (this.#size + packet.length > this.#data.length) {
      const grown = new Uint8Array(Math.max(this.#data.length * 2, this.#size + packet.length));
      grown.set(this.#data.subarray(0, this.#size));
      this.#data = grown;
    }
    this.#data.set(packet, this.#size);
    this.#size += packet.length;
    this.#lengths.push(packet.length);
    let index = this.#addrLookup.get(addr);
    if (index === undefined) {
      index = this.#addrTable.push(addr) - 1;
      this.#addrLookup.set(addr, index);
    }
    this.#addrIndexes.push(index);
  }

  /** The batch; the writer must not be used afterwards (its buffer is handed over). */
  finish(): Batch {
    return {
      data: this.#data.buffer as ArrayBuffer,
      lengths: Uint32Array.from(this.#lengths),
      addrIndexes: Uint32Array.from(this.#addrIndexes),
      addrTable: this.#addrTable,
    };
  }
}

/** Calls `each` with every packet of a batch, a view into its buffer, and its address. */
export function forEachPacket(batch: Batch, each: (packet: Uint8Array, addr: string) => void): void {
  const { data, lengths, addrIndexes, addrTable } = batch;
  let offset = 0;
  for (let i = 0; i < lengths.length; i++) {
    each(new Uint8Array(data, offset, lengths[i]), addrTable[addrIndexes[i]]);
    offset += lengths[i];
  }
}
