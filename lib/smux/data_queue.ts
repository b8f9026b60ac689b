/**
 * The FIFO of encoded SYN, PSH and FIN frames waiting for the connection. One
 * queue keeps each stream's frames in order (a FIN never overtakes its data).
 * Counters let the adapter tell when a given frame has been handed over.
 *
 * Bound: writers add PSH frames only while {@link DataQueue.payloadBytes} is
 * below the session's write batch and add at most one batch at a time, so PSH
 * payloads stay under two batches; SYN and FIN frames are one per stream
 * opened or closed by the application.
 */

import { FRAME_HEADER_SIZE } from "./frame.ts";

export class DataQueue {
  #frames: Uint8Array[] = [];
  #head = 0;
  /** Payload bytes (frame lengths minus headers) queued. */
  payloadBytes = 0;
  /** Frames ever queued. */
  queued = 0;
  /** Frames ever taken. Frame number k (1-based) has left the queue once taken ≥ k. */
  taken = 0;

  get length(): number {
    return this.#frames.length - this.#head;
  }

  push(frame: Uint8Array): void {
    this.#frames.push(frame);
    this.payloadBytes += frame.length - FRAME_HEADER_SIZE;
    this.queued++;
  }

  /** The oldest frame, or null. */
  shift(): Uint8Array | null {
    if (this.#head === this.#frames.length) return null;
    const frame = this.#frames[this.#head];
    this.#frames[this.#head++] = EMPTY;
    if (this.#head === this.#frames.length) {
      this.#frames.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
    this.payloadBytes -= frame.length - FRAME_HEADER_SIZE;
    this.taken++;
    return frame;
  }

  /** Drops every queued frame (they count as taken). */
  clear(): void {
    this.taken += this.length;
    this.#frames = [];
    this.#head = 0;
    this.payloadBytes = 0;
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);
