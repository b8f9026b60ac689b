/**
 * A Deno/Web `WebSocket` as a {@link ByteConn}: the byte stream that Snowflake's
 * carriers are (SNOWFLAKE-PROTOCOL.md §1.4). Message boundaries carry no meaning:
 * binary and text payloads are concatenated into one stream, and each `write`
 * is sent as one binary message. This is the client side (a W3C WebSocket,
 * as `dialWebSocket` opens); the server runs its own codec (server_conn.ts).
 *
 * Back-pressure: the WebSocket API has no "drained" event, so `write` sends
 * and then polls `bufferedAmount` until it is back under `highWaterBytes`. A
 * write that stays blocked for `writeStallMs` closes the connection (a peer
 * that stopped reading must not pin memory forever).
 *
 * Receive bound: the API cannot pause a WebSocket, so bytes that arrive while
 * nobody reads queue up; past `maxReadBufferBytes` the connection is closed
 * with reason "read buffer overflow" (bytes already queued are still readable).
 */

import type { ByteConn } from "../net/byte_conn.ts";
import { ConnClosedError } from "../net/packet_conn.ts";
import { concat } from "../util/bytes.ts";

/** Buffer bounds and timeouts of {@link webSocketConn}. */
export interface WebSocketConnOptions {
  /** `bufferedAmount` above which `write` waits. Default 256 KiB. */
  highWaterBytes?: number;
  /** How often a waiting `write` polls `bufferedAmount`, ms. Default 2. */
  pollIntervalMs?: number;
  /** A `write` blocked this long closes the connection, ms. Default 60 s. */
  writeStallMs?: number;
  /** Received-but-unread bytes above which the connection is closed. Default 1 MiB. */
  maxReadBufferBytes?: number;
}

export const WEBSOCKET_HIGH_WATER_BYTES = 256 * 1024;
export const WEBSOCKET_POLL_INTERVAL_MS = 2;
export const WEBSOCKET_WRITE_STALL_MS = 60_000;
export const WEBSOCKET_MAX_READ_BUFFER_BYTES = 1024 * 1024;

/** A ByteConn over a WebSocket, with the reason it ended. */
export interface WebSocketConn extends ByteConn {
  /** Why the connection ended: "" while open, else e.g. "closed by peer (1000)", "read buffer overflow". */
  readonly closeReason: string;
  /** Resolves when the WebSocket has closed (either side). */
  readonly closed: Promise<void>;
  /** Bytes received so far / sent so far. */
  readonly bytesRead: number;
  /** Bytes sent so far. */
  readonly bytesWritten: number;
  /** Closes with a reason that {@link closeReason} reports. */
  closeWithReason(reason: string, code?: number): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Wraps an open or connecting WebSocket. Sets `binaryType` to "arraybuffer". */
export function webSocketConn(ws: WebSocket, options: WebSocketConnOptions = {}): WebSocketConn {
  return new W3cWebSocketConn(ws, options);
}

const encoder = new TextEncoder();

/** The ByteConn over a W3C WebSocket: messages in as chunks, writes paced by `bufferedAmount`. */
class W3cWebSocketConn implements WebSocketConn {
  readonly closed: Promise<void>;
  readonly #ws: WebSocket;
  readonly #highWater: number;
  readonly #pollMs: number;
  readonly #stallMs: number;
  readonly #maxRead: number;
  readonly #opened: Promise<void>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #reason = "";
  #bytesRead = 0;
  #bytesWritten = 0;
  #wakeReader: (() => void) | null = null;

  constructor(ws: WebSocket, options: WebSocketConnOptions) {
    this.#ws = ws;
    this.#highWater = options.highWaterBytes ?? WEBSOCKET_HIGH_WATER_BYTES;
    this.#pollMs = options.pollIntervalMs ?? WEBSOCKET_POLL_INTERVAL_MS;
    this.#stallMs = options.writeStallMs ?? WEBSOCKET_WRITE_STALL_MS;
    this.#maxRead = options.maxReadBufferBytes ?? WEBSOCKET_MAX_READ_BUFFER_BYTES;
    this.#opened = ws.readyState === WebSocket.CONNECTING
      ? new Promise<void>((resolve) => ws.addEventListener("open", () => resolve(), { once: true }))
      : Promise.resolve();
    const closed = Promise.withResolvers<void>();
    this.closed = closed.promise;
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (event: MessageEvent) => this.#onMessage(event.data));
    ws.addEventListener("close", (event: CloseEvent) => {
      this.#end(`closed by peer (${event.code})`);
      closed.resolve();
    });
    ws.addEventListener("error", (event: Event) => {
      this.#end(`error: ${(event as ErrorEvent).message ?? "WebSocket error"}`);
    });
  }

  get closeReason(): string {
    return this.#reason;
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
    const out = this.#chunks.length === 1 ? this.#chunks[0] : concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    return out;
  }

  async write(data: Uint8Array): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CONNECTING) await this.#opened;
    if (this.#ended || ws.readyState !== WebSocket.OPEN) throw new ConnClosedError("WebSocket");
    ws.send(data);
    this.#bytesWritten += data.length;
    if (ws.bufferedAmount <= this.#highWater) return;
    // The W3C API has no drain event: poll bufferedAmount, and give up on a peer that stopped reading.
    const started = performance.now();
    while (ws.bufferedAmount > this.#highWater) {
      if (this.#ended || ws.readyState !== WebSocket.OPEN) throw new ConnClosedError("WebSocket");
      if (performance.now() - started > this.#stallMs) {
        this.closeWithReason(`write stalled for ${this.#stallMs} ms`, 1008);
        throw new ConnClosedError("WebSocket");
      }
      await sleep(this.#pollMs);
    }
  }

  close(): void {
    this.closeWithReason("closed locally");
  }

  closeWithReason(why: string, code = 1000): void {
    this.#end(why);
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      try {
        ws.close(code);
      } catch {
        // already closing
      }
    }
  }

  #onMessage(data: unknown): void {
    if (this.#ended) return;
    const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data as ArrayBuffer);
    if (bytes.length === 0) return;
    this.#bytesRead += bytes.length;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    if (this.#buffered > this.#maxRead) this.closeWithReason("read buffer overflow", 1008);
    this.#wake();
  }

  #end(why: string): void {
    if (!this.#ended) {
      this.#ended = true;
      this.#reason = why;
    }
    this.#wake();
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = null;
    wake?.();
  }
}

/** Dials `url`; resolves once open, or rejects on error or after `timeoutMs` (default 45 s, gorilla's). */
export async function dialWebSocket(
  url: string,
  options: WebSocketConnOptions & { timeoutMs?: number } = {},
): Promise<WebSocketConn> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`WebSocket dial ${url}: timed out`)),
        options.timeoutMs ?? 45_000,
      );
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", (event) => {
        reject(new Error(`WebSocket dial ${url}: ${(event as ErrorEvent).message ?? "failed"}`));
      }, { once: true });
    });
  } catch (error) {
    ws.close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return webSocketConn(ws, options);
}
