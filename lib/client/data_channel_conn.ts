/**
 * An open RTCDataChannel as a {@link ByteConn}: the byte stream a snowflake
 * proxy relays to the bridge's WebSocket (SNOWFLAKE-PROTOCOL.md §1.4, §6.6).
 * Message boundaries carry no meaning; each `write` is sent as one message
 * (callers keep them ≤ 16 KiB so browser proxies can forward them).
 *
 * Back-pressure: `write` sends, then waits while `bufferedAmount` is above
 * `highWaterBytes`, until the channel's "bufferedamountlow" event (threshold
 * `lowWaterBytes`) or its close.
 *
 * Receive bound: a data channel cannot be paused, so bytes that arrive while
 * nobody reads queue up; past `maxReadBufferBytes` the conn closes with reason
 * "read-overflow" (bytes already queued stay readable).
 */

import type { ByteConn } from "../net/byte_conn.ts";
import { ConnClosedError } from "../net/packet_conn.ts";
import type { RTCDataChannel } from "../webrtc/data_channel.ts";
import type { ProxyLostReason } from "./events.ts";

/** `bufferedAmount` above which `write` waits, bytes (ours: a bounded queue keeps a dead proxy's loss small). */
export const DATA_CHANNEL_HIGH_WATER_BYTES = 512 * 1024;
/** `bufferedAmount` at which a waiting `write` resumes, bytes. */
export const DATA_CHANNEL_LOW_WATER_BYTES = 128 * 1024;
/** Received-but-unread bytes above which the conn closes (KCP reads as fast as packets decode). */
export const DATA_CHANNEL_MAX_READ_BUFFER_BYTES = 4 * 1024 * 1024;

export interface DataChannelConnOptions {
  highWaterBytes?: number;
  lowWaterBytes?: number;
  maxReadBufferBytes?: number;
}

/** A ByteConn over an open data channel, with why it ended and what it carried. */
export class DataChannelConn implements ByteConn {
  readonly #channel: RTCDataChannel;
  readonly #highWater: number;
  readonly #maxRead: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #reason: ProxyLostReason | null = null;
  #bytesRead = 0;
  #bytesWritten = 0;
  #sendError: Error | null = null;
  #wakeReader: (() => void) | null = null;
  #wakeWriter: (() => void) | null = null;
  #resolveClosed!: () => void;
  /** Resolves when the conn has ended (either side, or an overflow). */
  readonly closed: Promise<void> = new Promise((resolve) => this.#resolveClosed = resolve);

  constructor(channel: RTCDataChannel, options: DataChannelConnOptions = {}) {
    this.#channel = channel;
    this.#highWater = options.highWaterBytes ?? DATA_CHANNEL_HIGH_WATER_BYTES;
    this.#maxRead = options.maxReadBufferBytes ?? DATA_CHANNEL_MAX_READ_BUFFER_BYTES;
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = options.lowWaterBytes ?? DATA_CHANNEL_LOW_WATER_BYTES;
    channel.addEventListener("message", this.#onMessage);
    channel.addEventListener("bufferedamountlow", this.#onLow);
    channel.addEventListener("close", () => this.#end("data-channel-closed"));
    if (channel.readyState === "closed" || channel.readyState === "closing") this.#end("data-channel-closed");
  }

  /** Why the conn ended; null while open. */
  get closeReason(): ProxyLostReason | null {
    return this.#reason;
  }

  /** Bytes queued in the data channel and not yet sent (RTCDataChannel.bufferedAmount); 0 once ended. */
  get bufferedAmount(): number {
    return this.#ended ? 0 : this.#channel.bufferedAmount;
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
    // One message at a time: the decoder takes any split, and joining them would copy every byte again.
    const out = this.#chunks.shift()!;
    this.#buffered -= out.length;
    return out;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#ended) throw new ConnClosedError("data channel");
    try {
      this.#channel.send(data);
    } catch (error) {
      this.#sendError = error instanceof Error ? error : new Error(String(error));
      // A channel the peer is closing refuses sends before its close event arrives: that is the close.
      this.#end(this.#channel.readyState === "open" ? "send-failed" : "data-channel-closed");
      throw new ConnClosedError("data channel");
    }
    this.#bytesWritten += data.length;
    while (!this.#ended && this.#channel.bufferedAmount > this.#highWater) {
      await new Promise<void>((resolve) => this.#wakeWriter = resolve);
    }
    if (this.#ended) throw new ConnClosedError("data channel");
  }

  /** The channel's error when `send` refused a message ("send-failed"). */
  get sendError(): Error | null {
    return this.#sendError;
  }

  close(): void {
    this.closeWithReason("closed");
  }

  /** Ends the conn with `reason` (kept in {@link closeReason}; the first one wins) and closes the channel. */
  closeWithReason(reason: ProxyLostReason): void {
    this.#end(reason);
    this.#channel.close();
  }

  #onMessage = (event: Event): void => {
    if (this.#ended) return;
    const data = (event as MessageEvent).data;
    const bytes = typeof data === "string"
      ? new TextEncoder().encode(data)
      : new Uint8Array(data as ArrayBuffer);
    if (bytes.length === 0) return;
    this.#bytesRead += bytes.length;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    if (this.#buffered > this.#maxRead) this.closeWithReason("read-overflow");
    this.#wake();
  };

  #onLow = (): void => {
    const wake = this.#wakeWriter;
    this.#wakeWriter = null;
    wake?.();
  };

  #end(reason: ProxyLostReason): void {
    if (!this.#ended) {
      this.#ended = true;
      this.#reason = reason;
      this.#resolveClosed();
    }
    this.#wake();
    this.#onLow();
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = null;
    wake?.();
  }
}
