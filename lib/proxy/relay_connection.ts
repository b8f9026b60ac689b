/**
 * The proxy's WebSocket to the relay (runtime.ts {@link RelayConnection}):
 * on `WebSocketStream` where the runtime has it (Deno with `--unstable-net`,
 * which deno.json and `deno task compile` enable; Chromium), so that a slow
 * client stops our reads and TCP pushes back on the bridge, which then sends
 * the client's packets on its other WebSockets (SNOWFLAKE-PROTOCOL.md §8.4).
 * Elsewhere a plain `WebSocket`, whose reads cannot be paused.
 */

import { errorMessage } from "../util/errors.ts";
import type { RelayConnection, RelayConnectionFactory, RelayConnectionHandlers } from "./runtime.ts";

/** The runtime's relay connection: WebSocketStream if present, else WebSocket. */
export const openRelayConnection: RelayConnectionFactory = (url, handlers) =>
  typeof globalThis.WebSocketStream === "function"
    ? new StreamRelayConnection(url, handlers)
    : new SocketRelayConnection(url, handlers);

const encoder = new TextEncoder();

/** A WebSocket or data-channel message's bytes (a string as UTF-8). */
export function messageBytes(data: unknown): Uint8Array<ArrayBuffer> {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  }
  return new Uint8Array(0); // a Blob cannot arrive: binaryType is "arraybuffer"
}

/** Reads one message at a time, only while not paused; writes through the stream's writer. */
export class StreamRelayConnection implements RelayConnection {
  isOpen = false;
  bufferedAmount = 0;
  readonly #stream: WebSocketStream;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #paused = false;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(url: string, handlers: RelayConnectionHandlers) {
    this.#stream = new WebSocketStream(url);
    this.#stream.closed.catch(() => {}); // read in #run, or not needed after close()
    this.#run(handlers);
  }

  send(bytes: Uint8Array): void {
    if (!this.#writer) return;
    this.bufferedAmount += bytes.length;
    // A failed write also ends the readable: the read loop reports it.
    this.#writer.write(bytes).then(() => this.bufferedAmount -= bytes.length, () => {});
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.isOpen = false;
    this.#wake?.();
    try {
      this.#stream.close({ code: 1000 });
    } catch { /* already closed */ }
  }

  async #run(handlers: RelayConnectionHandlers): Promise<void> {
    let detail: string;
    try {
      const { readable, writable } = await this.#stream.opened;
      if (this.#closed) return;
      this.#writer = writable.getWriter();
      this.#writer.closed.catch(() => {});
      const reader = readable.getReader();
      this.isOpen = true;
      handlers.onOpen();
      while (!this.#closed) {
        if (this.#paused) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
          continue;
        }
        const { value, done } = await reader.read();
        if (this.#closed) return;
        if (done) break;
        handlers.onMessage(messageBytes(value));
      }
      if (this.#closed) return;
      const { code } = await this.#stream.closed;
      detail = `WebSocket closed (${code})`;
    } catch (error) {
      detail = `WebSocket error: ${errorMessage(error)}`;
    }
    if (this.#closed) return;
    this.isOpen = false;
    handlers.onEnd(detail);
  }
}

/** A plain WebSocket: `pause` and `resume` do nothing (W3C WebSocket reads cannot be paused). */
export class SocketRelayConnection implements RelayConnection {
  readonly #ws: WebSocket;
  #closed = false;

  constructor(url: string, handlers: RelayConnectionHandlers) {
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => !this.#closed && handlers.onOpen();
    ws.onmessage = (event) => !this.#closed && handlers.onMessage(messageBytes(event.data));
    ws.onerror = () => this.#end(handlers, "WebSocket error");
    ws.onclose = (event) => this.#end(handlers, `WebSocket closed (${event.code})`);
  }

  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(bytes: Uint8Array): void {
    this.#ws.send(bytes);
  }

  pause(): void {}

  resume(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#ws.close(1000);
    } catch { /* already closing */ }
  }

  #end(handlers: RelayConnectionHandlers, detail: string): void {
    if (this.#closed) return;
    this.#closed = true;
    handlers.onEnd(detail);
  }
}
