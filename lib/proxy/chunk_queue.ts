/**
 * A FIFO of byte chunks with a byte count: what one direction of a client's
 * relay holds while the far side is not ready (WebSocket or data channel over
 * its high-water mark, or the bandwidth cap in debt). The caller bounds it
 * by {@link ChunkQueue.bytes}: past its bound the client is closed, since
 * neither a WebSocket nor a data channel can be paused (W3C APIs).
 */

export class ChunkQueue {
  #chunks: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;

  get bytes(): number {
    return this.#bytes;
  }

  get isEmpty(): boolean {
    return this.#head === this.#chunks.length;
  }

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** The oldest chunk, still queued. */
  peek(): Uint8Array | undefined {
    return this.#chunks[this.#head];
  }

  /** Removes the oldest chunk. */
  shift(): Uint8Array | undefined {
    if (this.isEmpty) return undefined;
    const chunk = this.#chunks[this.#head];
    this.#bytes -= chunk.length;
    this.#head++;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
    return chunk;
  }

  /** Bytes of the oldest chunks that fit in `max` together (at least the oldest one's). */
  headBytes(max: number): number {
    let bytes = 0;
    for (let i = this.#head; i < this.#chunks.length; i++) {
      const next = bytes + this.#chunks[i].length;
      if (next > max && bytes > 0) break;
      bytes = next;
    }
    return bytes;
  }

  /** Removes the oldest chunks making up exactly `bytes` (from {@link headBytes}), joined into one. */
  takeJoined(bytes: number): Uint8Array<ArrayBuffer> {
    const first = this.shift()!;
    if (first.length === bytes) return first as Uint8Array<ArrayBuffer>;
    const joined = new Uint8Array(bytes);
    joined.set(first);
    for (let offset = first.length; offset < bytes;) {
      const chunk = this.shift()!;
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    return joined;
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
