/**
 * Reassembles smux frames from a byte stream cut at arbitrary points (KCP
 * delivers bytes, not frames: KCP-SMUX.md §8.13). Each byte is copied at most
 * once: a payload that lies inside one input chunk is a view into it, one that
 * spans chunks is gathered into a fresh array.
 *
 * Bound: the reader holds what was pushed and not yet taken; the session pushes
 * one chunk at a time and pushes again only when the reader is down to a
 * partial frame, so that is one chunk plus less than one frame.
 */

import { decodeFrameHeader, type Frame, FRAME_HEADER_SIZE, wirePayloadLength } from "./frame.ts";
import { SmuxError } from "./error.ts";

export class FrameReader {
  #chunks: Uint8Array[] = [];
  #first = 0; // index of the first chunk still holding bytes
  #offset = 0; // read position in #chunks[#first]
  #buffered = 0;
  readonly #header = new Uint8Array(FRAME_HEADER_SIZE); // a header split across chunks is gathered here

  /** `version`: every frame must carry it, else SmuxError("invalid-version") (Go: "invalid protocol"). */
  constructor(readonly version: number) {}

  /** Bytes pushed and not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds bytes from the stream. The reader keeps (and may hand out views of) `chunk`. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next whole frame, or null until more bytes arrive. Throws SmuxError on a bad version or command. */
  next(): Frame | null {
    if (this.#buffered < FRAME_HEADER_SIZE) return null;
    let chunk = this.#chunks[this.#first];
    let frame: Frame;
    if (chunk.length - this.#offset >= FRAME_HEADER_SIZE) {
      frame = decodeFrameHeader(chunk, this.#offset);
    } else {
      this.#peek(this.#header);
      frame = decodeFrameHeader(this.#header, 0);
    }
    if (frame.version !== this.version) {
      throw new SmuxError(
        "invalid-version",
        `frame version ${frame.version} on a version ${this.version} session (cmd ${frame.cmd}, sid ${frame.sid})`,
      );
    }
    const payloadLength = wirePayloadLength(frame.cmd, frame.length);
    if (this.#buffered < FRAME_HEADER_SIZE + payloadLength) return null;
    this.#skip(FRAME_HEADER_SIZE);
    if (payloadLength > 0) {
      chunk = this.#chunks[this.#first];
      if (chunk.length - this.#offset >= payloadLength) {
        frame.payload = keepOrCopy(chunk, this.#offset, payloadLength);
        this.#skip(payloadLength);
      } else {
        frame.payload = new Uint8Array(payloadLength);
        this.#peek(frame.payload);
        this.#skip(payloadLength);
      }
    }
    return frame;
  }

  /** Fills `out` with the next bytes without consuming them (caller checked #buffered). */
  #peek(out: Uint8Array): void {
    let index = this.#first;
    let offset = this.#offset;
    let filled = 0;
    while (filled < out.length) {
      const chunk = this.#chunks[index];
      const n = Math.min(chunk.length - offset, out.length - filled);
      out.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      index++;
      offset = 0;
    }
  }

  #skip(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const left = this.#chunks[this.#first].length - this.#offset;
      if (n < left) {
        this.#offset += n;
        return;
      }
      n -= left;
      this.#chunks[this.#first++] = EMPTY;
      this.#offset = 0;
    }
    if (this.#first === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#first = 0;
    } else if (this.#first > 64 && this.#first * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * A payload inside one chunk: a view when it is at least a quarter of the memory
 * behind the chunk, else a copy. Views save a copy on the bulk path; the copy
 * rule caps what a buffered payload keeps alive at 4× its size, so the session's
 * receive bucket still bounds memory when a peer mixes tiny frames into big chunks.
 */
function keepOrCopy(chunk: Uint8Array, offset: number, length: number): Uint8Array {
  const view = chunk.subarray(offset, offset + length);
  return length * 4 >= chunk.buffer.byteLength ? view : view.slice();
}
