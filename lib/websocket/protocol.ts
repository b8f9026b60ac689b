/**
 * The server's side of one WebSocket connection after the handshake (RFC 6455
 * §5–7), as a sans-I/O state machine: bytes from the client go in through
 * `handleInput`; payload bytes, the peer's close and protocol errors come out
 * of `pollEvent`; frames to send (data, pong, close) come out of
 * `pollTransmit`. After any call, drain both until null. No clock: the
 * adapter (server_conn.ts) owns the socket and every deadline.
 *
 * What it enforces (each breach closes with the code in brackets and ends
 * input): client frames are masked [1002]; no RSV bits, as no extension is
 * negotiated [1002]; known opcodes only [1002]; control frames unfragmented
 * and ≤ 125 bytes [1002]; continuation frames only inside a fragmented
 * message, and no new message inside one [1002]; a frame ≤ `maxFrameBytes`
 * and a message ≤ `maxMessageBytes` [1009]; text valid UTF-8 [1007]; close
 * payloads well formed [1002, 1007]. A ping is answered by a pong with its
 * payload; a close is echoed with its code (§5.5.1), after which nothing more is read.
 *
 * Payload bytes are delivered as they arrive, unmasked in place in the
 * buffer passed to `handleInput` (the caller gives it up): Snowflake treats a
 * WebSocket as a byte stream, so messages are not reassembled.
 */

import {
  CLOSE_INVALID_DATA,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_BIG,
  decodeClosePayload,
  decodeFrameHeader,
  encodeClosePayload,
  encodedHeaderLength,
  encodeFrame,
  encodeFrameHeader,
  FrameError,
  type FrameHeader,
  isControlOpcode,
  isKnownOpcode,
  maskBytes,
  MAX_CONTROL_PAYLOAD,
  MAX_HEADER_LENGTH,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
} from "./frame.ts";
import { concat } from "../util/bytes.ts";

/** Longest frame and message accepted by default: 1 MiB (ours; proxies send ≤ 64 KiB). */
export const WEBSOCKET_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Receive limits; over them the connection is closed with 1009. */
export interface WebSocketProtocolOptions {
  /** Longest frame payload accepted (default: `maxMessageBytes`). */
  maxFrameBytes?: number;
  /** Longest message accepted, fragments together (default 1 MiB). */
  maxMessageBytes?: number;
}

export type WebSocketEvent =
  /** Payload bytes of a text or binary message; `last` on the message's final bytes. */
  | { type: "data"; bytes: Uint8Array; last: boolean }
  /** The peer's close frame (code null if it had none). */
  | { type: "close"; code: number | null; reason: string }
  /** The peer broke the protocol; a close with `closeCode` is queued and input has ended. */
  | { type: "error"; closeCode: number; message: string };

export class WebSocketProtocol {
  readonly #maxFrame: number;
  readonly #maxMessage: number;
  // A header split across inputs is gathered here.
  readonly #headerBuffer = new Uint8Array(MAX_HEADER_LENGTH);
  #headerBytes = 0;
  #frame: FrameHeader | null = null;
  #remaining = 0;
  #maskPhase = 0;
  #control: Uint8Array[] = [];
  /** Opcode of the message being received (text or binary), 0 between messages. */
  #messageOpcode = 0;
  #messageBytes = 0;
  #utf8: TextDecoder | null = null;
  #transmit: Uint8Array[] = [];
  #events: WebSocketEvent[] = [];
  #closeSent = false;
  #inputEnded = false;

  constructor(options: WebSocketProtocolOptions = {}) {
    this.#maxMessage = options.maxMessageBytes ?? WEBSOCKET_MAX_MESSAGE_BYTES;
    this.#maxFrame = options.maxFrameBytes ?? this.#maxMessage;
  }

  /** True once a close frame is queued (ours or the echo of the peer's). */
  get closeSent(): boolean {
    return this.#closeSent;
  }

  /** True once the peer's close or a protocol error ended input. */
  get inputEnded(): boolean {
    return this.#inputEnded;
  }

  /** Bytes from the client. The machine takes `bytes` over (payloads are unmasked in place). */
  handleInput(bytes: Uint8Array): void {
    let at = 0;
    try {
      while (at < bytes.length && !this.#inputEnded) {
        if (this.#frame === null) at = this.#readHeader(bytes, at);
        else at = this.#readPayload(bytes, at);
      }
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#fail(error.closeCode, error.message);
    }
  }

  /** Queues `payload` as one binary message (a frame of its own). */
  sendMessage(payload: Uint8Array): void {
    this.sendMessages([payload]);
  }

  /** Queues each payload as a binary message of its own, all frames in one buffer (one socket write). */
  sendMessages(payloads: Uint8Array[]): void {
    if (this.#closeSent || payloads.length === 0) return;
    let size = 0;
    for (const payload of payloads) size += encodedHeaderLength(payload.length, false) + payload.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const payload of payloads) {
      const header = { fin: true, rsv: 0, opcode: OPCODE_BINARY, mask: null, payloadLength: payload.length };
      at = encodeFrameHeader(header, out, at);
      out.set(payload, at);
      at += payload.length;
    }
    this.#transmit.push(out);
  }

  /** Queues a close frame (once; later calls do nothing). `code` null sends an empty close. */
  close(code: number | null = 1000, reason = ""): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#transmit.push(encodeFrame(OPCODE_CLOSE, encodeClosePayload(code, reason)));
  }

  /** True while frames wait for `pollTransmit`. */
  get hasTransmit(): boolean {
    return this.#transmit.length > 0;
  }

  pollTransmit(): Uint8Array | null {
    return this.#transmit.shift() ?? null;
  }

  pollEvent(): WebSocketEvent | null {
    return this.#events.shift() ?? null;
  }

  #readHeader(bytes: Uint8Array, at: number): number {
    let decoded: [FrameHeader, number] | null;
    let used: number;
    if (this.#headerBytes === 0) {
      decoded = decodeFrameHeader(bytes, at);
      if (decoded === null) {
        this.#headerBuffer.set(bytes.subarray(at), 0);
        this.#headerBytes = bytes.length - at;
        return bytes.length;
      }
      used = decoded[1] - at;
    } else {
      // Add bytes until the header is whole (it is at most 14 bytes).
      const take = Math.min(MAX_HEADER_LENGTH - this.#headerBytes, bytes.length - at);
      this.#headerBuffer.set(bytes.subarray(at, at + take), this.#headerBytes);
      const have = this.#headerBytes + take;
      decoded = decodeFrameHeader(this.#headerBuffer.subarray(0, have), 0);
      if (decoded === null) {
        this.#headerBytes = have;
        return at + take;
      }
      used = decoded[1] - this.#headerBytes;
      this.#headerBytes = 0;
    }
    this.#startFrame(decoded[0]);
    return at + used;
  }

  #startFrame(header: FrameHeader): void {
    const { opcode, payloadLength } = header;
    if (header.mask === null) throw new FrameError(CLOSE_PROTOCOL_ERROR, "unmasked client frame");
    if (header.rsv !== 0) throw new FrameError(CLOSE_PROTOCOL_ERROR, "RSV bits set without an extension");
    if (!isKnownOpcode(opcode)) throw new FrameError(CLOSE_PROTOCOL_ERROR, `reserved opcode ${opcode}`);
    if (isControlOpcode(opcode)) {
      if (!header.fin) throw new FrameError(CLOSE_PROTOCOL_ERROR, "fragmented control frame");
      if (payloadLength > MAX_CONTROL_PAYLOAD) {
        throw new FrameError(CLOSE_PROTOCOL_ERROR, `control frame of ${payloadLength} bytes`);
      }
    } else {
      if (opcode === OPCODE_CONTINUATION && this.#messageOpcode === 0) {
        throw new FrameError(CLOSE_PROTOCOL_ERROR, "continuation frame outside a message");
      }
      if (opcode !== OPCODE_CONTINUATION && this.#messageOpcode !== 0) {
        throw new FrameError(CLOSE_PROTOCOL_ERROR, "new message inside a fragmented message");
      }
      if (payloadLength > this.#maxFrame) {
        throw new FrameError(CLOSE_TOO_BIG, `frame of ${payloadLength} bytes (limit ${this.#maxFrame})`);
      }
      if (opcode !== OPCODE_CONTINUATION) {
        this.#messageOpcode = opcode;
        this.#messageBytes = 0;
        if (opcode === OPCODE_TEXT) this.#utf8 = new TextDecoder("utf-8", { fatal: true });
      }
      this.#messageBytes += payloadLength;
      if (this.#messageBytes > this.#maxMessage) {
        throw new FrameError(CLOSE_TOO_BIG, `message of over ${this.#maxMessage} bytes`);
      }
    }
    this.#frame = header;
    this.#remaining = payloadLength;
    this.#maskPhase = 0;
    if (payloadLength === 0) this.#endFrame();
  }

  #readPayload(bytes: Uint8Array, at: number): number {
    const frame = this.#frame!;
    const take = Math.min(this.#remaining, bytes.length - at);
    const piece = bytes.subarray(at, at + take);
    this.#maskPhase = maskBytes(piece, frame.mask!, this.#maskPhase);
    this.#remaining -= take;
    if (isControlOpcode(frame.opcode)) {
      this.#control.push(piece);
    } else {
      if (this.#utf8) this.#checkUtf8(piece, this.#remaining === 0 && frame.fin);
      if (take > 0) {
        this.#events.push({ type: "data", bytes: piece, last: this.#remaining === 0 && frame.fin });
      }
    }
    if (this.#remaining === 0) this.#endFrame();
    return at + take;
  }

  #checkUtf8(piece: Uint8Array, last: boolean): void {
    try {
      this.#utf8!.decode(piece, { stream: !last });
    } catch {
      throw new FrameError(CLOSE_INVALID_DATA, "text message is not valid UTF-8");
    }
  }

  #endFrame(): void {
    const frame = this.#frame!;
    this.#frame = null;
    if (!isControlOpcode(frame.opcode)) {
      if (frame.payloadLength === 0 && frame.fin) {
        if (this.#utf8) this.#checkUtf8(new Uint8Array(0), true);
        this.#events.push({ type: "data", bytes: new Uint8Array(0), last: true });
      }
      if (frame.fin) {
        this.#messageOpcode = 0;
        this.#utf8 = null;
      }
      return;
    }
    const pieces = this.#control;
    this.#control = [];
    const payload = pieces.length === 1 ? pieces[0] : concat(pieces);
    if (frame.opcode === OPCODE_PING) {
      if (!this.#closeSent) this.#transmit.push(encodeFrame(OPCODE_PONG, payload));
    } else if (frame.opcode === OPCODE_CLOSE) {
      const { code, reason } = decodeClosePayload(payload);
      this.#inputEnded = true;
      this.#events.push({ type: "close", code, reason });
      this.close(code, ""); // the echo (§5.5.1); nothing if ours went first
    }
    // a pong needs nothing
  }

  #fail(closeCode: number, message: string): void {
    this.#inputEnded = true;
    this.#events.push({ type: "error", closeCode, message });
    this.close(closeCode, message);
  }
}
