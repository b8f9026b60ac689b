/**
 * Incremental reader of Snowflake's encapsulation (SNOWFLAKE-PROTOCOL.md §2.4):
 * push bytes as they arrive, in any split, and pull whole packets. Padding chunks
 * are skipped as their bytes arrive, never buffered, so a 1 MB padding chunk
 * costs nothing. A sans-I/O machine: {@link encapsulationPacketConn} drives it.
 *
 * Usage: after each `push`, call `next()` until it returns null; at end of
 * stream call `end()`, which throws if the stream stopped inside a chunk.
 *
 * Bounds: the decoder holds the chunks pushed but not yet consumed plus the
 * received part of one data chunk, which is at most `maxPacketSize` bytes; a
 * longer data chunk is refused (EncapsulationError "over-limit") as soon as its
 * prefix is read, before any of its body is kept.
 * Errors are sticky: after one, every call throws the same error.
 */

import { EncapsulationError } from "./error.ts";
import { MAX_CHUNK_LENGTH } from "./codec.ts";
import { concat } from "../util/bytes.ts";

/** Bounds of an {@link EncapsulationDecoder}. */
export interface EncapsulationDecoderOptions {
  /**
   * Longest data chunk accepted; longer ones end the stream with "over-limit".
   * Default 1048575 (anything the format can carry). A carrier feeding KCP, whose
   * packets are ≤ 1400 bytes, may set 1500 (Go's read buffer) to refuse early.
   */
  maxPacketSize?: number;
}

/**
 * The sans-I/O decoder of encapsulated packets: bytes in by `push` (and `end`), packets out by `next`; see the module doc.
 */
export class EncapsulationDecoder {
  /** Longest data chunk accepted (see {@link EncapsulationDecoderOptions.maxPacketSize}). */
  readonly maxPacketSize: number;

  // Input pushed but not consumed: whole chunks, the first one from #inputOffset.
  #input: Uint8Array[] = [];
  #inputOffset = 0;
  #inputBytes = 0;

  // Length prefix being read: bytes seen (0 = none), value so far, data or padding.
  #prefixBytes = 0;
  #length = 0;
  #isData = false;
  // Body being read: bytes still expected, and the data received so far.
  #remaining = 0;
  #inBody = false;
  #parts: Uint8Array[] = [];
  #partsBytes = 0;

  #error: EncapsulationError | null = null;

  /** Throws RangeError for a `maxPacketSize` outside 0…1048575. */
  constructor(options: EncapsulationDecoderOptions = {}) {
    const max = options.maxPacketSize ?? MAX_CHUNK_LENGTH;
    if (!Number.isSafeInteger(max) || max < 0 || max > MAX_CHUNK_LENGTH) {
      throw new RangeError(`maxPacketSize must be an integer in 0..${MAX_CHUNK_LENGTH}, got ${max}`);
    }
    this.maxPacketSize = max;
  }

  /** Bytes held: pushed but unconsumed input plus the received part of a data chunk. */
  get bufferedBytes(): number {
    return this.#inputBytes + this.#partsBytes;
  }

  /** Adds received bytes. The decoder keeps a reference to `bytes` until consumed; don't reuse it. */
  push(bytes: Uint8Array): void {
    if (this.#error) throw this.#error;
    if (bytes.length === 0) return;
    this.#input.push(bytes);
    this.#inputBytes += bytes.length;
  }

  /** The next complete data packet (a new array), or null when more input is needed. */
  next(): Uint8Array | null {
    if (this.#error) throw this.#error;
    for (;;) {
      if (this.#inBody) {
        const packet = this.#readBody();
        if (packet) return packet;
        if (this.#inBody) return null; // body incomplete: all input consumed
        continue; // a padding chunk ended
      }
      if (this.#inputBytes === 0) return null;
      this.#readPrefixByte(this.#takeByte());
    }
  }

  /** Declares the end of input. Throws "unexpected-eof" if the stream stopped inside a chunk. */
  end(): void {
    if (this.#error) throw this.#error;
    if (this.#inputBytes > 0) {
      throw new Error("EncapsulationDecoder.end() called with unread input: call next() until null first");
    }
    if (this.#prefixBytes > 0) {
      this.#fail("unexpected-eof", `stream ended inside a length prefix after ${this.#prefixBytes} byte(s)`);
    }
    if (this.#inBody) {
      const what = this.#isData ? "data" : "padding";
      this.#fail("unexpected-eof", `stream ended inside a ${what} chunk, ${this.#remaining} byte(s) short`);
    }
  }

  #takeByte(): number {
    const chunk = this.#input[0];
    const byte = chunk[this.#inputOffset++];
    this.#inputBytes--;
    if (this.#inputOffset === chunk.length) {
      this.#input.shift();
      this.#inputOffset = 0;
    }
    return byte;
  }

  #readPrefixByte(byte: number): void {
    let more: boolean;
    if (this.#prefixBytes === 0) {
      this.#isData = (byte & 0x80) !== 0;
      more = (byte & 0x40) !== 0;
      this.#length = byte & 0x3f;
    } else {
      more = (byte & 0x80) !== 0;
      this.#length = (this.#length << 7) | (byte & 0x7f);
    }
    this.#prefixBytes++;
    if (more) {
      // Go fails on a third byte with its continuation bit set, without reading a fourth.
      if (this.#prefixBytes === 3) this.#fail("too-long", "length prefix is too long (more than 3 bytes)");
      return;
    }
    this.#prefixBytes = 0;
    if (this.#isData && this.#length > this.maxPacketSize) {
      this.#fail(
        "over-limit",
        `data chunk of ${this.#length} bytes exceeds the limit of ${this.maxPacketSize}`,
      );
    }
    this.#remaining = this.#length;
    this.#inBody = true;
  }

  /** Consumes body bytes; returns the packet when a data chunk completes, else null. */
  #readBody(): Uint8Array | null {
    while (this.#remaining > 0 && this.#inputBytes > 0) {
      const chunk = this.#input[0];
      const take = Math.min(this.#remaining, chunk.length - this.#inputOffset);
      if (this.#isData) {
        // Copy: the packet must not pin (or alias) the carrier's read buffer.
        this.#parts.push(chunk.slice(this.#inputOffset, this.#inputOffset + take));
        this.#partsBytes += take;
      }
      this.#remaining -= take;
      this.#inputBytes -= take;
      this.#inputOffset += take;
      if (this.#inputOffset === chunk.length) {
        this.#input.shift();
        this.#inputOffset = 0;
      }
    }
    if (this.#remaining > 0) return null;
    this.#inBody = false;
    if (!this.#isData) return null;
    const parts = this.#parts;
    this.#parts = [];
    this.#partsBytes = 0;
    if (parts.length === 1) return parts[0];
    return parts.length === 0 ? new Uint8Array(0) : concat(parts);
  }

  #fail(code: EncapsulationError["code"], message: string): never {
    this.#error = new EncapsulationError(code, message);
    this.#input = [];
    this.#inputBytes = 0;
    this.#parts = [];
    this.#partsBytes = 0;
    throw this.#error;
  }
}
