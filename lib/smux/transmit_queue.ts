/**
 * What an smux session has to send, in the order it goes out: control frames
 * that Go's shaper sends first (priority 0: NOP, UPD), then one FIFO of SYN, PSH
 * and FIN frames, so that a stream's FIN never overtakes its data (KCP-SMUX.md
 * §8.11). Every frame is built as one array, header and payload, ready for a
 * single `conn.write`.
 *
 * Bounds: at most one NOP waits (Go drops a NOP it cannot queue before the next
 * tick) and one UPD per stream (a later UPD carries the newer `consumed`, so it
 * replaces a waiting one). PSH payloads are bounded by the caller (the machine
 * queues at most one write batch at a time, and only below one batch); SYN and
 * FIN are one per stream the application opens or closes.
 */

import { encodeUpdPayload, FRAME_HEADER_SIZE, SmuxCmd, UPD_PAYLOAD_SIZE, writeFrameHeader } from "./frame.ts";

export class TransmitQueue {
  #nopPending = false;
  readonly #updPending = new Set<number>();
  #data: Uint8Array[] = [];
  #head = 0;
  /** PSH payload bytes in the data FIFO. */
  payloadBytes = 0;
  /** Data frames (SYN, PSH, FIN) ever queued. */
  dataQueued = 0;
  /** Data frames ever taken by {@link poll}: data frame k (1-based) has left once dataTaken ≥ k. */
  dataTaken = 0;

  #slab: Uint8Array = EMPTY;
  #slabUsed = 0;
  /** Size of the next slab: doubles while frames keep coming, back to the minimum when idle. */
  #slabSize = SLAB_MIN_BYTES;

  constructor(readonly version: number) {}

  get pending(): boolean {
    return this.#nopPending || this.#updPending.size > 0 || this.#head < this.#data.length;
  }

  /** Queues a keepalive NOP. Called every keepalive interval, it is also when an idle session gives back its slab. */
  queueNop(): void {
    if (!this.pending) {
      this.#slab = EMPTY;
      this.#slabUsed = 0;
      this.#slabSize = SLAB_MIN_BYTES;
    }
    this.#nopPending = true;
  }

  /** Asks for an UPD on stream `sid`; its fields are read when it goes out. */
  queueUpd(sid: number): void {
    this.#updPending.add(sid);
  }

  cancelUpd(sid: number): void {
    this.#updPending.delete(sid);
  }

  /** Queues a SYN or FIN (never with a payload: Go would not skip one, §8.4). */
  queueSynOrFin(cmd: typeof SmuxCmd.SYN | typeof SmuxCmd.FIN, sid: number): void {
    this.#pushData(this.#frame(cmd, sid, 0));
  }

  /** Queues `data[offset, offset + n)` as PSH frames of at most `maxFrameSize` bytes. */
  queuePsh(sid: number, data: Uint8Array, offset: number, n: number, maxFrameSize: number): void {
    for (let sent = 0; sent < n;) {
      const size = Math.min(maxFrameSize, n - sent);
      const frame = this.#frame(SmuxCmd.PSH, sid, size);
      const start = offset + sent;
      frame.set(size === data.length ? data : data.subarray(start, start + size), FRAME_HEADER_SIZE);
      this.#pushData(frame);
      this.payloadBytes += size;
      sent += size;
    }
  }

  /**
   * The next frame, or null. `upd(sid)` gives an UPD's `[consumed, window]`, or
   * null when the stream is gone (the UPD is then dropped).
   */
  poll(upd: (sid: number) => [number, number] | null): Uint8Array | null {
    if (this.#nopPending) {
      this.#nopPending = false;
      return this.#frame(SmuxCmd.NOP, 0, 0);
    }
    for (const sid of this.#updPending) {
      this.#updPending.delete(sid);
      const fields = upd(sid);
      if (fields === null) continue;
      const frame = this.#frame(SmuxCmd.UPD, sid, UPD_PAYLOAD_SIZE);
      frame.set(encodeUpdPayload(fields[0], fields[1]), FRAME_HEADER_SIZE);
      return frame;
    }
    if (this.#head === this.#data.length) return null;
    const frame = this.#data[this.#head];
    this.#data[this.#head++] = EMPTY;
    if (this.#head === this.#data.length) {
      this.#data.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#data.length) {
      this.#data = this.#data.slice(this.#head);
      this.#head = 0;
    }
    if (frame[1] === SmuxCmd.PSH) this.payloadBytes -= frame.length - FRAME_HEADER_SIZE;
    this.dataTaken++;
    return frame;
  }

  /** Drops the NOP and UPDs (a closed session sends no more control frames). */
  clearControl(): void {
    this.#nopPending = false;
    this.#updPending.clear();
  }

  /** Drops everything; dropped data frames count as taken. */
  clear(): void {
    this.clearControl();
    this.dataTaken = this.dataQueued;
    this.#data = [];
    this.#head = 0;
    this.payloadBytes = 0;
  }

  #pushData(frame: Uint8Array): void {
    this.#data.push(frame);
    this.dataQueued++;
  }

  /**
   * A new frame array. Small frames are carved out of a shared slab: V8 makes
   * every typed array above 64 bytes with its own off-heap allocation, which
   * dominated the cost of small writes. The receiver owns each frame; the slab
   * lives while any of its frames does. Slabs grow from {@link SLAB_MIN_BYTES}
   * to {@link SLAB_BYTES} under load, so an idle session holds little.
   */
  #frame(cmd: number, sid: number, payloadLength: number): Uint8Array {
    const length = FRAME_HEADER_SIZE + payloadLength;
    let frame: Uint8Array;
    if (length > SLAB_MAX_FRAME_BYTES || length <= ON_HEAP_FRAME_BYTES) {
      frame = new Uint8Array(length);
    } else {
      if (this.#slab.length - this.#slabUsed < length) {
        this.#slab = new Uint8Array(this.#slabSize);
        this.#slabUsed = 0;
        this.#slabSize = Math.min(SLAB_BYTES, this.#slabSize * 2);
      }
      frame = this.#slab.subarray(this.#slabUsed, this.#slabUsed + length);
      this.#slabUsed += length;
    }
    writeFrameHeader(frame, 0, this.version, cmd, payloadLength, sid);
    return frame;
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);
const SLAB_BYTES = 64 * 1024;
const SLAB_MIN_BYTES = 8 * 1024; // ≥ 2 × SLAB_MAX_FRAME_BYTES, so every small frame fits a fresh slab
/**
 * Control frames (SYN, FIN, NOP, UPD: 8–16 bytes) get arrays of their own: V8 keeps arrays this small on its
 * heap, and an idle session's keepalive NOP then holds no slab.
 */
const ON_HEAP_FRAME_BYTES = 64;
/** Frames up to this size share slabs; bigger ones get their own array (the allocation is amortised). */
const SLAB_MAX_FRAME_BYTES = 4096;
