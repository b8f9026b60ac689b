/**
 * A PacketConn over a byte stream, using Snowflake's encapsulation
 * (SNOWFLAKE-PROTOCOL.md §1.4, §2): the client wraps each WebRTC data channel in
 * one, and RedialPacketConn runs over it. Each packet is written as one
 * `conn.write` of prefix + packet together (Go writes and flushes them at once,
 * so one data-channel message per packet).
 *
 * Bounds: outgoing packets wait in a queue of `sendQueueSize` while `conn.write`
 * applies back-pressure; when it is full, writeTo drops the packet (counted in
 * `dropped`), like UDP. Incoming bytes are read only when `readFrom` asks, so a
 * slow reader back-pressures the sender; the decoder holds at most one packet of
 * `maxPacketSize`.
 *
 * Endings: `readFrom` returns null at the end of the stream, on a read or write
 * error of the conn, or on malformed input (EncapsulationError). Each of these
 * closes the conn; an error is kept in `error` and passed to `onError`.
 */

import { AsyncQueue } from "../net/async_queue.ts";
import type { ByteConn } from "../net/byte_conn.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../net/packet_conn.ts";
import { concat } from "../util/bytes.ts";
import { encodeData, encodePadding } from "./codec.ts";
import { EncapsulationDecoder } from "./decoder.ts";

/**
 * Default bound of the outgoing queue, in packets (≤ 2.8 MB of 1400-byte KCP
 * packets). KCP without congestion control sends a whole window in a burst; Go's
 * carrier blocks the writer instead, so a small queue here drops most of a burst
 * (64 measured 0.6 MB/s through the server where 2048 gave 38 MB/s).
 */
export const ENCAPSULATION_SEND_QUEUE_SIZE = 2048;

/** Bounds and error hook of an {@link EncapsulationPacketConn}. */
export interface EncapsulationPacketConnOptions {
  /** Longest incoming packet accepted (see EncapsulationDecoder); default 1048575. */
  maxPacketSize?: number;
  /** Outgoing packets that may wait for the conn; more are dropped. Default {@link ENCAPSULATION_SEND_QUEUE_SIZE}. */
  sendQueueSize?: number;
  /** Called once if the conn ends with an error (malformed input, or the conn failed). */
  onError?: (error: Error) => void;
  /**
   * Join packets already queued into one `conn.write` of up to this many bytes (a whole packet always goes in one
   * write). Default 0: one write per packet, as Go does. A data channel carrier sets 16 KiB: a KCP burst then costs a
   * few messages instead of one per packet, and browser proxies still forward each message.
   */
  coalesceBytes?: number;
}

/** Packets ⇄ an encapsulated byte stream; see the module doc. */
export class EncapsulationPacketConn implements PacketConn {
  readonly #conn: ByteConn;
  readonly #remoteAddr: string;
  readonly #decoder: EncapsulationDecoder;
  readonly #sendQueue: AsyncQueue<Uint8Array>;
  readonly #onError?: (error: Error) => void;
  readonly #coalesceBytes: number;
  #reading: Promise<unknown> = Promise.resolve(); // serializes readFrom calls
  #closed = false;
  #error: Error | null = null;
  #dropped = 0;

  /** Starts writing queued packets to `conn` at once; `remoteAddr` is what `readFrom` reports. */
  constructor(conn: ByteConn, remoteAddr: string, options: EncapsulationPacketConnOptions = {}) {
    this.#conn = conn;
    this.#remoteAddr = remoteAddr;
    this.#decoder = new EncapsulationDecoder({ maxPacketSize: options.maxPacketSize });
    this.#sendQueue = new AsyncQueue(options.sendQueueSize ?? ENCAPSULATION_SEND_QUEUE_SIZE);
    this.#onError = options.onError;
    this.#coalesceBytes = options.coalesceBytes ?? 0;
    this.#writeLoop();
  }

  /** Why the conn ended, if it ended with an error; null otherwise. */
  get error(): Error | null {
    return this.#error;
  }

  /** Outgoing packets dropped because the send queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The next packet, with the fixed remote address; null once closed or at the end of the stream. */
  readFrom(): Promise<Packet | null> {
    const result = this.#reading.then(() => this.#readPacket());
    this.#reading = result;
    return result;
  }

  /**
   * Queues `packet` for the stream (`addr` is ignored: the stream has one peer).
   * Throws ConnClosedError once closed, EncapsulationError "too-long" for packets
   * over 1048575 bytes (the conn stays open); drops when the queue is full.
   */
  writeTo(packet: Uint8Array, _addr: string): void {
    if (this.#closed) throw new ConnClosedError("encapsulation packet connection");
    if (!this.#sendQueue.push(encodeData(packet))) this.#dropped++;
  }

  /**
   * Queues `bytes` of padding (SNOWFLAKE-PROTOCOL.md §2.3: chunks every receiver
   * skips), e.g. to shape an idle period. Dropped like a packet when the queue
   * is full; ignored once closed.
   */
  writePadding(bytes: number): void {
    if (this.#closed || bytes <= 0) return;
    if (!this.#sendQueue.push(encodePadding(bytes))) this.#dropped++;
  }

  /** Drops queued packets and closes the underlying conn. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sendQueue.clear();
    this.#sendQueue.close();
    this.#conn.close();
  }

  async #readPacket(): Promise<Packet | null> {
    try {
      for (;;) {
        if (this.#closed) return null;
        const packet = this.#decoder.next();
        if (packet) return { packet, addr: this.#remoteAddr };
        const chunk = await this.#conn.read();
        if (this.#closed) return null;
        if (chunk === null) {
          this.#decoder.end(); // throws if the stream stopped inside a chunk
          this.close();
          return null;
        }
        this.#decoder.push(chunk);
      }
    } catch (error) {
      this.#fail(error);
      return null;
    }
  }

  async #writeLoop(): Promise<void> {
    for (;;) {
      const first = await this.#sendQueue.shift();
      if (first === null) return;
      const chunk = this.#coalesceBytes > 0 ? this.#coalesce(first) : first;
      try {
        await this.#conn.write(chunk);
      } catch (error) {
        this.#fail(error);
        return;
      }
    }
  }

  /** `first` and the queued chunks after it that fit in `coalesceBytes`, as one array. */
  #coalesce(first: Uint8Array): Uint8Array {
    let total = first.length;
    const parts = [first];
    for (;;) {
      const next = this.#sendQueue.peek();
      if (next === undefined || total + next.length > this.#coalesceBytes) break;
      parts.push(this.#sendQueue.tryShift()!);
      total += next.length;
    }
    return parts.length === 1 ? first : concat(parts);
  }

  #fail(error: unknown): void {
    if (this.#closed) return; // an error after close() is the close itself
    this.#error = error instanceof Error ? error : new Error(String(error));
    this.close();
    this.#onError?.(this.#error);
  }
}

/**
 * Wraps a byte stream as a PacketConn: each packet becomes one data chunk.
 * @example const carrier = encapsulationPacketConn(dataChannelConn, "server", { maxPacketSize: 1500 });
 */
export function encapsulationPacketConn(
  conn: ByteConn,
  remoteAddr: string,
  options?: EncapsulationPacketConnOptions,
): EncapsulationPacketConn {
  return new EncapsulationPacketConn(conn, remoteAddr, options);
}
