/**
 * The I/O adapter around {@link WebSocketProtocol} for the server: a
 * {@link WebSocketConn} (a byte stream with the reason it ended) over an
 * upgraded TCP or TLS connection. Deadlines come from the owner's
 * {@link DeadlineSweeper} (one periodic sweep for all connections), so no
 * connection holds a timer.
 *
 * - Reads: one pending socket read per connection (2 KiB while idle, growing
 *   in bursts as the tor connection's reads do), payload bytes queued for
 *   `read()` or pushed to a receiver; while `maxReadBufferBytes` are unread,
 *   the socket is not read (back-pressure to the client through TCP).
 * - Writes: `write` sends `data` as binary messages of at most
 *   `maxMessageBytes` and resolves once the socket has taken them; a write
 *   still blocked after `writeStallMs` closes the connection.
 * - Close: ours sends a close frame, FIN, then waits up to `closeTimeoutMs`
 *   for the peer's close before dropping the socket; the peer's close is
 *   echoed and the socket closed at once (RFC 6455 §7.1.1: the server closes
 *   TCP first).
 */

import { ConnClosedError } from "../net/packet_conn.ts";
import { nextReadSizes, OR_CONN_MIN_READ, type ReadSizes } from "../pt/or_conn.ts";
import { concat } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import { errorMessage } from "../util/errors.ts";
import { CLOSE_NORMAL } from "./frame.ts";
import { WebSocketProtocol, type WebSocketProtocolOptions } from "./protocol.ts";
import type { WebSocketConn } from "./websocket_conn.ts";

/** Bytes unread at most before the socket is no longer read (ours). */
export const SERVER_WEBSOCKET_READ_BUFFER_BYTES = 256 * 1024;
/** A write blocked this long closes the connection (ours): a peer that stopped reading. */
export const SERVER_WEBSOCKET_WRITE_STALL_MS = 60_000;
/** How long our close waits for the peer's (ours). */
export const SERVER_WEBSOCKET_CLOSE_TIMEOUT_MS = 2_000;

/** How a server WebSocket ended: "" while open. */
export type WebSocketEnd = "" | "peer" | "protocol" | "stall" | "error" | "local";

/** A {@link WebSocketConn} that also says, typed, how it ended, and can push what it receives. */
export interface ServerWebSocket extends WebSocketConn {
  /** How it ended ("" while open). */
  readonly endedBy: WebSocketEnd;
  /**
   * From now on, hands each piece of payload to `receiver` as it arrives (what
   * was buffered first) instead of keeping it for `read()`; `receiver` must not
   * block (no back-pressure reaches the client then). Saves a pending read per
   * connection: the Turbo Tunnel carrier, whose packets are dropped at full queues anyway, uses it.
   */
  setReceiver(receiver: (bytes: Uint8Array) => void): void;
  /**
   * Sends each of `messages` as a binary message of its own (none split, none
   * joined), in one socket write; resolves when the socket has taken them.
   */
  writeMessages(messages: Uint8Array[]): Promise<void>;
}

/** A deadline the owner's sweeper expires (lib/server's DeadlineSweeper has this shape). */
export interface SweptDeadline {
  at: number;
  onExpire: () => void;
}

/** Limits and timeouts of a server WebSocket (the receive limits are {@link WebSocketProtocolOptions}). */
export interface ServerWebSocketOptions extends WebSocketProtocolOptions {
  /** Unread payload bytes at most before the socket is no longer read (default 256 KiB). */
  maxReadBufferBytes?: number;
  /** Largest message `write` sends; longer writes are split (default: no limit; the server sets 16 KiB). */
  maxSendMessageBytes?: number;
  /** A write blocked this long closes the connection, ms (default 60 s). */
  writeStallMs?: number;
  /** How long our close waits for the peer's, ms (default 2 s). */
  closeTimeoutMs?: number;
}

export interface ServerWebSocketDeps {
  clock: Clock;
  /** Registers a deadline (moved by changing `at`) and removes it. */
  deadlines: { add(entry: SweptDeadline): SweptDeadline; remove(entry: SweptDeadline): void };
}

/** `socket` after a successful upgrade; `head` holds bytes that came with the request. */
export function serverWebSocketConn(
  socket: Deno.Conn,
  head: Uint8Array,
  deps: ServerWebSocketDeps,
  options: ServerWebSocketOptions = {},
): ServerWebSocket {
  return new ServerWebSocketConn(socket, head, deps, options);
}

class ServerWebSocketConn implements ServerWebSocket {
  readonly #socket: Deno.Conn;
  readonly #protocol: WebSocketProtocol;
  readonly #deps: ServerWebSocketDeps;
  readonly #maxRead: number;
  readonly #maxOutgoing: number;
  readonly #stallMs: number;
  readonly #closeTimeoutMs: number;
  readonly #deadline: SweptDeadline;
  readonly #closed = Promise.withResolvers<void>();
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #receiver: ((bytes: Uint8Array) => void) | null = null;
  #readSizes: ReadSizes = { next: OR_CONN_MIN_READ, burst: OR_CONN_MIN_READ };
  #reason = "";
  #endedBy: WebSocketEnd = "";
  #ended = false;
  #socketClosed = false;
  #closing = false;
  #bytesRead = 0;
  #bytesWritten = 0;
  #wakeReader: (() => void) | null = null;
  #wakePump: (() => void) | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    socket: Deno.Conn,
    head: Uint8Array,
    deps: ServerWebSocketDeps,
    options: ServerWebSocketOptions,
  ) {
    this.#socket = socket;
    this.#deps = deps;
    this.#protocol = new WebSocketProtocol(options);
    this.#maxRead = options.maxReadBufferBytes ?? SERVER_WEBSOCKET_READ_BUFFER_BYTES;
    this.#maxOutgoing = options.maxSendMessageBytes ?? Infinity;
    this.#stallMs = options.writeStallMs ?? SERVER_WEBSOCKET_WRITE_STALL_MS;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? SERVER_WEBSOCKET_CLOSE_TIMEOUT_MS;
    this.#deadline = deps.deadlines.add({ at: Infinity, onExpire: () => this.#expire() });
    if (head.length) this.#input(head);
    void this.#pump();
  }

  get endedBy(): WebSocketEnd {
    return this.#endedBy;
  }
  get closeReason(): string {
    return this.#reason;
  }
  get closed(): Promise<void> {
    return this.#closed.promise;
  }
  get bytesRead(): number {
    return this.#bytesRead;
  }
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  setReceiver(receiver: (bytes: Uint8Array) => void): void {
    this.#receiver = receiver;
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#buffered = 0;
    for (const chunk of chunks) receiver(chunk);
    this.#wake("pump");
  }

  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
    const out = this.#chunks.length === 1 ? this.#chunks[0] : concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    this.#wake("pump");
    return out;
  }

  write(data: Uint8Array): Promise<void> {
    if (data.length <= this.#maxOutgoing) return this.writeMessages([data]);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += this.#maxOutgoing) {
      pieces.push(data.subarray(at, at + this.#maxOutgoing));
    }
    return this.writeMessages(pieces);
  }

  writeMessages(messages: Uint8Array[]): Promise<void> {
    if (this.#ended) return Promise.reject(new ConnClosedError("WebSocket"));
    this.#protocol.sendMessages(messages);
    for (const message of messages) this.#bytesWritten += message.length;
    return this.#flush().then(() => {
      if (this.#socketClosed) throw new ConnClosedError("WebSocket");
    });
  }

  close(): void {
    this.closeWithReason("closed locally");
  }

  closeWithReason(reason: string, code: number = CLOSE_NORMAL): void {
    this.#end(reason, "local");
    if (this.#protocol.closeSent || this.#socketClosed) return;
    this.#protocol.close(code);
    // Sending the close, and then the peer's answer (the pump ends the socket), take closeTimeoutMs at most.
    this.#closing = true;
    this.#deadline.at = this.#deps.clock.now() + this.#closeTimeoutMs;
    void this.#flush().then(() => this.#socketClosed ? undefined : this.#socket.closeWrite().catch(() => {}));
  }

  /** Sends what the protocol has queued, one frame after another; resolves when the socket took it. */
  #flush(): Promise<void> {
    const next = this.#writing.then(async () => {
      for (let frame = this.#protocol.pollTransmit(); frame; frame = this.#protocol.pollTransmit()) {
        if (this.#socketClosed) continue;
        if (!this.#closing) this.#deadline.at = this.#deps.clock.now() + this.#stallMs;
        try {
          for (let at = 0; at < frame.length;) at += await this.#socket.write(frame.subarray(at));
        } catch (error) {
          this.#end(`error: ${errorMessage(error)}`, "error");
          this.#closeSocket();
        }
      }
      if (!this.#closing) this.#deadline.at = Infinity;
    });
    this.#writing = next;
    return next;
  }

  /** The sweeper's call: a write stalled, or our close got no answer in time. */
  #expire(): void {
    if (!this.#closing) this.#end(`write stalled for ${this.#stallMs / 1000} s`, "stall");
    this.#closeSocket();
  }

  /**
   * Reads the socket until it ends. One loop, so an idle connection costs one
   * pending read (of OR_CONN_MIN_READ bytes: the size drops back after a read
   * that drains the socket) and one suspended frame, which holds no old chunk.
   */
  async #pump(): Promise<void> {
    for (;;) {
      while (this.#buffered >= this.#maxRead && !this.#ended) {
        await new Promise<void>((resolve) => this.#wakePump = resolve);
      }
      if (this.#socketClosed) break;
      let buffer: Uint8Array | null = new Uint8Array(this.#readSizes.next);
      let n: number | null;
      try {
        n = await this.#socket.read(buffer);
      } catch (error) {
        this.#end(`error: ${errorMessage(error)}`, "error");
        break;
      }
      if (n === null) {
        this.#end("closed by peer (1006)", "peer"); // EOF without a close frame
        break;
      }
      this.#readSizes = nextReadSizes(this.#readSizes, n);
      this.#input(buffer.subarray(0, n));
      buffer = null; // not kept alive by this frame while the next read waits
      if (this.#protocol.inputEnded) {
        await this.#flush(); // the echo of the peer's close, or ours after its error
        break;
      }
    }
    this.#closeSocket();
  }

  #input(chunk: Uint8Array): void {
    this.#protocol.handleInput(chunk);
    for (let event = this.#protocol.pollEvent(); event; event = this.#protocol.pollEvent()) {
      switch (event.type) {
        case "data":
          if (this.#ended || event.bytes.length === 0) break;
          this.#bytesRead += event.bytes.length;
          if (this.#receiver) {
            this.#receiver(event.bytes);
            break;
          }
          this.#chunks.push(event.bytes);
          this.#buffered += event.bytes.length;
          this.#wake("reader");
          break;
        case "close":
          this.#end(`closed by peer (${event.code ?? 1005})`, "peer");
          break;
        case "error":
          this.#end(`protocol error (${event.closeCode}): ${event.message}`, "protocol");
          break;
      }
    }
    if (this.#protocol.hasTransmit) void this.#flush(); // pongs, the close echo
  }

  #end(reason: string, by: WebSocketEnd): void {
    if (!this.#ended) {
      this.#ended = true;
      this.#reason = reason;
      this.#endedBy = by;
    }
    this.#wake("reader");
    this.#wake("pump");
  }

  #closeSocket(): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    this.#end("closed", "local");
    this.#deps.deadlines.remove(this.#deadline);
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    this.#closed.resolve();
  }

  #wake(which: "reader" | "pump"): void {
    const wake = which === "reader" ? this.#wakeReader : this.#wakePump;
    if (which === "reader") this.#wakeReader = null;
    else this.#wakePump = null;
    wake?.();
  }
}
