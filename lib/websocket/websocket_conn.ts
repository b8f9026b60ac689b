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
  const highWater = options.highWaterBytes ?? WEBSOCKET_HIGH_WATER_BYTES;
  const pollMs = options.pollIntervalMs ?? WEBSOCKET_POLL_INTERVAL_MS;
  const stallMs = options.writeStallMs ?? WEBSOCKET_WRITE_STALL_MS;
  const maxRead = options.maxReadBufferBytes ?? WEBSOCKET_MAX_READ_BUFFER_BYTES;
  const encoder = new TextEncoder();

  let chunks: Uint8Array[] = [];
  let buffered = 0;
  let ended = false;
  let reason = "";
  let bytesRead = 0;
  let bytesWritten = 0;
  let wakeReader: (() => void) | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => resolveClosed = resolve);
  const opened = ws.readyState === WebSocket.CONNECTING
    ? new Promise<void>((resolve) => ws.addEventListener("open", () => resolve(), { once: true }))
    : Promise.resolve();

  const wake = () => {
    const w = wakeReader;
    wakeReader = null;
    w?.();
  };
  const end = (why: string) => {
    if (!ended) {
      ended = true;
      reason = why;
    }
    wake();
  };
  const closeWithReason = (why: string, code = 1000) => {
    end(why);
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      try {
        ws.close(code);
      } catch {
        // already closing
      }
    }
  };

  ws.binaryType = "arraybuffer";
  ws.addEventListener("message", (event: MessageEvent) => {
    if (ended) return;
    const data = event.data;
    const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data as ArrayBuffer);
    if (bytes.length === 0) return;
    bytesRead += bytes.length;
    chunks.push(bytes);
    buffered += bytes.length;
    if (buffered > maxRead) closeWithReason("read buffer overflow", 1008);
    wake();
  });
  ws.addEventListener("close", (event: CloseEvent) => {
    end(`closed by peer (${event.code})`);
    resolveClosed();
  });
  ws.addEventListener("error", (event: Event) => {
    end(`error: ${(event as ErrorEvent).message ?? "WebSocket error"}`);
  });

  return {
    get closeReason() {
      return reason;
    },
    get bytesRead() {
      return bytesRead;
    },
    get bytesWritten() {
      return bytesWritten;
    },
    closed,
    closeWithReason,
    async read() {
      while (chunks.length === 0) {
        if (ended) return null;
        await new Promise<void>((resolve) => wakeReader = resolve);
      }
      const out = chunks.length === 1 ? chunks[0] : concat(chunks);
      chunks = [];
      buffered = 0;
      return out;
    },
    async write(data) {
      if (ws.readyState === WebSocket.CONNECTING) await opened;
      if (ended || ws.readyState !== WebSocket.OPEN) throw new ConnClosedError("WebSocket");
      ws.send(data);
      bytesWritten += data.length;
      if (ws.bufferedAmount <= highWater) return;
      const started = performance.now();
      while (ws.bufferedAmount > highWater) {
        if (ended || ws.readyState !== WebSocket.OPEN) throw new ConnClosedError("WebSocket");
        if (performance.now() - started > stallMs) {
          closeWithReason(`write stalled for ${stallMs} ms`, 1008);
          throw new ConnClosedError("WebSocket");
        }
        await sleep(pollMs);
      }
    },
    close() {
      closeWithReason("closed locally");
    },
  };
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
