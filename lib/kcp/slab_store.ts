/**
 * Storage for out-of-order segment payloads: each is copied into the current
 * slab (one small copy instead of a fresh allocation per segment), and
 * the store counts the bytes of every slab that still holds a live copy. That
 * count is the memory really pinned, whatever order the copies are released in,
 * so a peer that leaves one segment per slab stranded is charged whole slabs.
 */

export class Slab {
  used = 0;
  live = 0;
  constructor(readonly bytes: Uint8Array) {}
}

export class SlabStore {
  /** Bytes of the slabs that hold a live copy. */
  pinnedBytes = 0;
  #current: Slab | null = null;

  /** `slabBytes`: the size of each slab (a payload larger than that gets a slab of its own size). */
  constructor(readonly slabBytes: number) {}

  /** Copies `data` (non-empty) into a slab; returns the slab and the copy is its bytes [used − length, used). */
  store(data: Uint8Array): Slab {
    let slab = this.#current;
    if (slab === null || slab.bytes.length - slab.used < data.length) {
      slab = this.#current = new Slab(new Uint8Array(Math.max(this.slabBytes, data.length)));
      this.pinnedBytes += slab.bytes.length;
    }
    slab.bytes.set(data, slab.used);
    slab.used += data.length;
    slab.live++;
    return slab;
  }

  /** Marks one copy in `slab` as no longer needed. An emptied slab is let go, the current one too (an idle session holds none). */
  release(slab: Slab): void {
    if (--slab.live > 0) return;
    this.pinnedBytes -= slab.bytes.length;
    if (slab === this.#current) this.#current = null;
  }
}
