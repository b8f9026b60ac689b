/**
 * kcp-go's snd_queue: data the application wrote that has no sequence number
 * yet (KCP-SMUX.md §4.4). In stream mode kcp-go appends each write to the last
 * queued segment until it holds mss bytes, so the queue is exactly a byte FIFO
 * cut into mss-sized segments when they are numbered; we store the written
 * chunks as they are (no copy) and cut at {@link take}. In message mode each
 * write is cut into ⌈len/mss⌉ segments with frg counting down to 0.
 *
 * Bound: the queue holds what the owner lets in; KcpSession admits a write only
 * while kcp-go's WaitSnd gate and its byte budget are open (session.ts).
 */

import { Ring } from "./ring.ts";

const MAX_FRAGMENTS = 255; // kcp-go Send refuses messages of more fragments (ikcp.c: 128)

export class SendQueue {
  /** Written chunks (stream mode) or whole segments (message mode), oldest first. */
  #chunks = new Ring<Uint8Array>();
  /** frg of each queued segment (message mode only). */
  #frgs = new Ring<number>();
  /** Bytes of the first chunk already taken (stream mode). */
  #offset = 0;
  #bytes = 0;
  /** frg of the segment the last {@link take} returned. */
  lastFrg = 0;

  constructor(readonly streamMode: boolean, readonly mss: number) {}

  /** Payload bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Segments queued, as kcp-go's len(snd_queue) counts them. */
  get segments(): number {
    return this.streamMode ? Math.ceil(this.#bytes / this.mss) : this.#chunks.length;
  }

  /**
   * Queues `data` (kept by reference; empty data queues nothing, as kcp-go's
   * `Send` −1); false for a message of more than 255 fragments (kcp-go −2,
   * message mode; nothing queued). Stream mode has no fragment limit: kcp-go's
   * session never hits it because it cuts writes into mss pieces first.
   */
  push(data: Uint8Array): boolean {
    if (data.length === 0) return true;
    if (this.streamMode) {
      this.#chunks.push(data);
      this.#bytes += data.length;
      return true;
    }
    const count = Math.max(1, Math.ceil(data.length / this.mss));
    if (count > MAX_FRAGMENTS) return false;
    for (let i = 0; i < count; i++) {
      this.#chunks.push(data.subarray(i * this.mss, Math.min(data.length, (i + 1) * this.mss)));
      this.#frgs.push(count - 1 - i);
    }
    this.#bytes += data.length;
    return true;
  }

  /** The next segment's payload (≤ mss bytes; frg in {@link lastFrg}); the queue must not be empty. */
  take(): Uint8Array {
    if (!this.streamMode) {
      const data = this.#chunks.shift();
      this.lastFrg = this.#frgs.shift();
      this.#bytes -= data.length;
      return data;
    }
    this.lastFrg = 0;
    const mss = this.mss;
    const head = this.#chunks.at(0);
    const available = head.length - this.#offset;
    if (available >= mss || available === this.#bytes) {
      // one chunk covers the segment: hand out a view, no copy
      const size = available >= mss ? mss : available;
      const data = head.subarray(this.#offset, this.#offset + size);
      this.#consume(size, head.length);
      return data;
    }
    const size = Math.min(mss, this.#bytes);
    const data = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.#chunks.at(0);
      const n = Math.min(size - filled, chunk.length - this.#offset);
      data.set(chunk.subarray(this.#offset, this.#offset + n), filled);
      filled += n;
      this.#consume(n, chunk.length);
    }
    return data;
  }

  /** Drops everything queued (kcp-go ReleaseTX on close). */
  clear(): void {
    this.#chunks.clear();
    this.#frgs.clear();
    this.#offset = 0;
    this.#bytes = 0;
  }

  /** Ring slots allocated (memory held whether or not anything is queued). */
  get slots(): number {
    return this.#chunks.capacity + this.#frgs.capacity;
  }

  /** Whether {@link shrink} would give memory back (the queue is empty and its rings grew). */
  get canShrink(): boolean {
    return this.#chunks.canShrink || this.#frgs.canShrink;
  }

  /** Shrinks the emptied rings back to their initial capacity (after a burst of writes). */
  shrink(): void {
    this.#chunks.shrink();
    this.#frgs.shrink();
  }

  #consume(n: number, chunkLength: number): void {
    this.#bytes -= n;
    this.#offset += n;
    if (this.#offset === chunkLength) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }
}
