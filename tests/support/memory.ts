/**
 * In-memory connected pairs, for tests and for wiring layers inside one process.
 * Packet pairs drop at the queue bound like UDP; byte pairs apply back-pressure
 * by making `write` wait until the other side has read enough.
 */

import { AsyncQueue } from "../../lib/net/async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../../lib/net/packet_conn.ts";
import type { ByteConn } from "../../lib/net/byte_conn.ts";
import { concat } from "../../lib/util/bytes.ts";

/** Two PacketConns joined back to back; each side's writes arrive at the other with `addr` set to the sender's name. */
export function memoryPacketPair(
  capacity = 1024,
  names: [string, string] = ["a", "b"],
): [PacketConn, PacketConn] {
  const queues = [new AsyncQueue<Packet>(capacity), new AsyncQueue<Packet>(capacity)];
  const make = (self: number): PacketConn => {
    const other = 1 - self;
    let closed = false;
    return {
      readFrom: () => queues[self].shift(),
      writeTo(packet) {
        if (closed) throw new ConnClosedError("packet connection");
        queues[other].push({ packet, addr: names[self] }); // dropped when full, like UDP
      },
      close() {
        if (closed) return;
        closed = true;
        queues[self].close();
      },
    };
  };
  return [make(0), make(1)];
}

/** Two ByteConns joined back to back. A side's `write` waits while more than `window` bytes are unread. */
export function memoryByteConnPair(window = 256 * 1024): [ByteConn, ByteConn] {
  const pipes = [new BytePipe(window), new BytePipe(window)];
  const make = (self: number): ByteConn => ({
    read: () => pipes[self].read(),
    write: (data) => pipes[1 - self].write(data),
    close() {
      pipes[self].close();
      pipes[1 - self].close();
    },
  });
  return [make(0), make(1)];
}

/** One direction of a byte pair: chunks queued up to `window` bytes. */
class BytePipe {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #closed = false;
  #reader: (() => void) | null = null;
  #writers: (() => void)[] = [];

  constructor(readonly window: number) {}

  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#reader = resolve);
    }
    const chunk = this.#chunks.length === 1 ? this.#chunks[0] : concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    for (const wake of this.#writers.splice(0)) wake();
    return chunk;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.#closed) throw new ConnClosedError("byte connection");
    if (data.length === 0) return;
    this.#chunks.push(data);
    this.#buffered += data.length;
    this.#wakeReader();
    while (this.#buffered > this.window && !this.#closed) {
      await new Promise<void>((resolve) => this.#writers.push(resolve));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeReader();
    for (const wake of this.#writers.splice(0)) wake();
  }

  #wakeReader(): void {
    const wake = this.#reader;
    this.#reader = null;
    wake?.();
  }
}
