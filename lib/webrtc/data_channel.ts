/**
 * RTCDataChannel over the native shim: the W3C subset Snowflake's client and
 * proxy use (send, the message/open/close/bufferedamountlow events,
 * bufferedAmount and its low threshold, close), so their code runs unchanged
 * on a browser's RTCDataChannel.
 *
 * Messages arrive through the realm's EventPump. Binary messages are
 * ArrayBuffers (binaryType "arraybuffer", the only type without a Blob
 * round-trip), text messages strings. A message is at most 65535 bytes, the
 * size pion's receiver accepts.
 */

import { errorMessage } from "../util/errors.ts";
import { defineEventHandlers, type EventHandler, RTCErrorEvent } from "./event_handlers.ts";
import { EventKind, type NativeEvent } from "./events.ts";
import { invalidState, WebRTCError } from "./errors.ts";
import type { Native } from "./native.ts";
import type { EventPump } from "./pump.ts";

/** Largest message send() accepts: pion's receive buffer (native/channel.go maxMessageSize). */
export const MAX_MESSAGE_SIZE = 65535;

/** A data channel's life, as in the W3C API. */
export type RTCDataChannelState = "connecting" | "open" | "closing" | "closed";

/** Options of createDataChannel, as in the W3C API. */
export interface RTCDataChannelInit {
  /** In-order delivery; default true. */
  ordered?: boolean;
  /** Give up on a message after this many ms (partial reliability). */
  maxPacketLifeTime?: number;
  /** Give up on a message after this many retransmissions; 0 with `ordered: false` is fire-and-forget. */
  maxRetransmits?: number;
  /** Subprotocol name announced with the channel. */
  protocol?: string;
  /** Both sides create the channel with the same `id` instead of announcing it. */
  negotiated?: boolean;
  /** Stream id of a `negotiated` channel. */
  id?: number;
}

/** What the binding knows about a channel when it creates the JS object. */
export interface ChannelDescription {
  label: string;
  ordered: boolean;
  maxPacketLifeTime: number | null;
  maxRetransmits: number | null;
  protocol: string;
  negotiated: boolean;
  id: number | null;
}

const decoder = new TextDecoder();

/** A W3C-shaped data channel over pion: `send`, "message" events, `bufferedAmount` back-pressure. */
export class RTCDataChannel extends EventTarget {
  readonly #native: Native;
  readonly #pump: EventPump;
  readonly #handle: number;
  readonly #description: ChannelDescription;
  #readyState: RTCDataChannelState;
  #lowThreshold = 0;
  #lastBufferedAmount = 0;
  #bufferedAmountFresh = false; // #lastBufferedAmount came from pion during this task
  #binaryType: BinaryType = "arraybuffer";

  /** The channel opened. */
  declare onopen: EventHandler;
  /** A message arrived (`data`: ArrayBuffer or string). */
  declare onmessage: EventHandler<MessageEvent>;
  /** The channel closed. */
  declare onclose: EventHandler;
  /** pion reported an error on the channel. */
  declare onerror: EventHandler<RTCErrorEvent>;
  /** `bufferedAmount` fell to `bufferedAmountLowThreshold`. */
  declare onbufferedamountlow: EventHandler;

  /** Made by RTCPeerConnection (createDataChannel, "datachannel"), not by callers. */
  constructor(
    native: Native,
    pump: EventPump,
    handle: number,
    description: ChannelDescription,
    readyState: RTCDataChannelState,
  ) {
    super();
    this.#native = native;
    this.#pump = pump;
    this.#handle = handle;
    this.#description = description;
    this.#readyState = readyState;
    pump.register(handle, this);
  }

  /** The label given to createDataChannel. */
  get label(): string {
    return this.#description.label;
  }
  /** Whether messages arrive in order. */
  get ordered(): boolean {
    return this.#description.ordered;
  }
  /** Partial reliability by time, ms; null if not set. */
  get maxPacketLifeTime(): number | null {
    return this.#description.maxPacketLifeTime;
  }
  /** Partial reliability by retransmissions; null if not set. */
  get maxRetransmits(): number | null {
    return this.#description.maxRetransmits;
  }
  /** The subprotocol name. */
  get protocol(): string {
    return this.#description.protocol;
  }
  /** Whether both sides created the channel with the same id. */
  get negotiated(): boolean {
    return this.#description.negotiated;
  }
  /** SCTP stream id; null until assigned. */
  get id(): number | null {
    return this.#description.id;
  }
  /** "connecting", "open", "closing" or "closed". */
  get readyState(): RTCDataChannelState {
    return this.#readyState;
  }

  /**
   * Bytes queued by send() and not yet handed to the network. Read from pion
   * once per task: within one synchronous run of sends it is the value the last
   * send returned (W3C: it grows with send and shrinks only between tasks),
   * which spares a native call per message in a send loop.
   */
  get bufferedAmount(): number {
    if (!this.#bufferedAmountFresh && (this.#readyState === "open" || this.#readyState === "closing")) {
      this.#setBufferedAmount(this.#native.symbols.swrtc_dc_buffered_amount(this.#handle));
    }
    return this.#lastBufferedAmount;
  }

  #setBufferedAmount(value: number): void {
    this.#lastBufferedAmount = value;
    if (!this.#bufferedAmountFresh) {
      this.#bufferedAmountFresh = true;
      queueMicrotask(() => this.#bufferedAmountFresh = false);
    }
  }

  /** `bufferedAmount` at or below which "bufferedamountlow" fires. */
  get bufferedAmountLowThreshold(): number {
    return this.#lowThreshold;
  }
  set bufferedAmountLowThreshold(value: number) {
    this.#lowThreshold = value >>> 0; // an unsigned long, as in the W3C IDL
    if (this.#readyState !== "closed") {
      this.#native.symbols.swrtc_dc_set_buffered_amount_low_threshold(this.#handle, this.#lowThreshold);
    }
  }

  /** How binary messages are delivered: "arraybuffer" (default) or "blob". */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    if (value !== "arraybuffer" && value !== "blob") return; // ignored, as in browsers
    this.#binaryType = value;
  }

  /**
   * Queues one message. Throws InvalidStateError unless open, TypeError for a
   * Blob or a message over MAX_MESSAGE_SIZE, and an OperationError
   * DOMException with pion's message when the stack refuses it (for example
   * more than 16 MiB already buffered).
   */
  send(data: string | ArrayBuffer | ArrayBufferView | Blob): void {
    if (this.#readyState !== "open") {
      throw invalidState(`RTCDataChannel.send: readyState is "${this.#readyState}", not "open"`);
    }
    let bytes: Uint8Array;
    let isString = 0;
    if (typeof data === "string") {
      bytes = this.#native.encode(data);
      isString = 1;
    } else if (data instanceof Uint8Array) {
      bytes = data;
    } else if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      throw new TypeError("RTCDataChannel.send: Blob is not supported; send await blob.arrayBuffer()");
    }
    if (bytes.length > MAX_MESSAGE_SIZE) {
      throw new TypeError(
        `RTCDataChannel.send: ${bytes.length}-byte message exceeds ${MAX_MESSAGE_SIZE} bytes`,
      );
    }
    const { symbols, out } = this.#native;
    const result = symbols.swrtc_dc_send(this.#handle, bytes, bytes.length, isString, out, out.length);
    try {
      this.#setBufferedAmount(this.#native.check(result));
    } catch (error) {
      throw new DOMException(`RTCDataChannel.send: ${errorMessage(error)}`, "OperationError");
    }
  }

  /** Starts closing; "close" fires when both sides are done. Idempotent. */
  close(): void {
    if (this.#readyState === "closing" || this.#readyState === "closed") return;
    this.#readyState = "closing";
    const { symbols, out } = this.#native;
    // A handle the shim already released (the close event is on its way) is
    // not an error here: the channel is closing either way.
    symbols.swrtc_dc_close(this.#handle, out, out.length);
  }

  /** The peer connection closed: closed at once, without events (W3C). */
  peerClosed(): void {
    this.#readyState = "closed";
    this.#pump.unregister(this.#handle);
  }

  /**
   * Called by the event pump with this channel's native events.
   * @ignore
   */
  handleNativeEvent(event: NativeEvent): void {
    const { kind, payload } = event;
    switch (kind) {
      case EventKind.ChannelBinary: {
        if (this.#readyState === "closed") return;
        // The payload is a view into the poll buffer: the message gets its own copy.
        const copy = payload.buffer.slice(
          payload.byteOffset,
          payload.byteOffset + payload.length,
        ) as ArrayBuffer;
        const data = this.#binaryType === "blob" ? new Blob([copy]) : copy;
        this.dispatchEvent(new MessageEvent("message", { data }));
        return;
      }
      case EventKind.ChannelText:
        if (this.#readyState === "closed") return;
        this.dispatchEvent(new MessageEvent("message", { data: decoder.decode(payload) }));
        return;
      case EventKind.ChannelOpen: {
        const id = new DataView(payload.buffer, payload.byteOffset, 4).getInt32(0, true);
        if (id >= 0) this.#description.id = id;
        if (this.#readyState === "connecting") this.#readyState = "open";
        if (this.#readyState === "open") this.dispatchEvent(new Event("open"));
        return;
      }
      case EventKind.ChannelBufferedAmountLow:
        this.#setBufferedAmount(new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true));
        this.dispatchEvent(new Event("bufferedamountlow"));
        return;
      case EventKind.ChannelError:
        this.dispatchEvent(new RTCErrorEvent("error", { error: new WebRTCError(decoder.decode(payload)) }));
        return;
      case EventKind.ChannelClose:
        this.#pump.unregister(this.#handle);
        if (this.#readyState === "closed") return;
        this.#readyState = "closed"; // bufferedAmount keeps its last value (W3C)
        this.dispatchEvent(new Event("close"));
        return;
    }
  }
}

defineEventHandlers(RTCDataChannel.prototype, ["open", "message", "close", "error", "bufferedamountlow"]);
