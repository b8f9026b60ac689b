/**
 * The connection to tor's ORPort or Extended ORPort as a {@link ByteConn} that
 * can also half-close (`closeWrite`: TCP FIN towards tor while tor's answer is
 * still read, as Go Snowflake's server does).
 *
 * Reads use a buffer that grows while reads fill it (2 KiB up to 64 KiB). A
 * read that drains the socket (returns less than its buffer) is followed by a
 * read of the minimum size, because that read may wait for as long as the
 * client stays idle, pinning its buffer all the while: the thousands of idle
 * connections of a busy bridge each pin 2 KiB, not the 64 KiB of their last
 * burst. If that small read fills up, the burst goes on, and the next read
 * jumps straight back to the size the burst had reached.
 */

import type { Socket } from "node:net";
import type { Buffer } from "node:buffer";
import type { ByteConn } from "../net/byte_conn.ts";
import { ConnClosedError } from "../net/packet_conn.ts";
import { concat } from "../util/bytes.ts";

/** A duplex byte connection that can send its end of stream while still reading. */
export interface DuplexConn extends ByteConn {
  /** Sends end-of-stream (TCP FIN); reading goes on. Idempotent. */
  closeWrite(): Promise<void>;
}

/** Smallest read buffer: what an idle connection's pending read pins. */
export const OR_CONN_MIN_READ = 2 * 1024;
/** Largest read buffer, reached by doubling while reads fill it. */
export const OR_CONN_MAX_READ = 64 * 1024;

/** Read sizes of one connection: `next` for the next read, `burst` the size a burst had reached. */
export interface ReadSizes {
  next: number;
  burst: number;
}

/** The sizes after a read of `sizes.next` bytes that returned `got`. */
export function nextReadSizes(sizes: ReadSizes, got: number): ReadSizes {
  if (got < sizes.next) return { next: OR_CONN_MIN_READ, burst: Math.max(sizes.next, OR_CONN_MIN_READ) };
  // Full: a small read after a drain resumes at the burst's size; otherwise double.
  const next = Math.min(OR_CONN_MAX_READ, Math.max(sizes.next * 2, sizes.burst));
  return { next, burst: next };
}

/** A DuplexConn over a Deno TCP (or TLS) connection. */
export function denoDuplexConn(conn: Deno.Conn): DuplexConn {
  let closed = false;
  let writeClosed = false;
  let sizes: ReadSizes = { next: OR_CONN_MIN_READ, burst: OR_CONN_MIN_READ };
  return {
    async read() {
      if (closed) return null;
      const buffer = new Uint8Array(sizes.next);
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (error) {
        if (closed) return null;
        throw error;
      }
      if (n === null) return null;
      sizes = nextReadSizes(sizes, n);
      return buffer.subarray(0, n);
    },
    async write(data) {
      if (closed || writeClosed) throw new ConnClosedError("ORPort connection");
      let offset = 0;
      while (offset < data.length) offset += await conn.write(data.subarray(offset));
    },
    async closeWrite() {
      if (closed || writeClosed) return;
      writeClosed = true;
      try {
        await conn.closeWrite();
      } catch {
        // the peer is already gone; close() follows
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

/**
 * A DuplexConn over a connected `node:net` socket (used when the source address
 * must be chosen, which Deno.connect cannot do). Incoming data is buffered up
 * to 256 KiB, then the socket is paused until `read` drains it.
 */
export function nodeDuplexConn(socket: Socket): DuplexConn {
  const HIGH_WATER = 256 * 1024;
  let chunks: Uint8Array[] = [];
  let buffered = 0;
  let ended = false;
  let failure: Error | null = null;
  let closed = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  socket.on("data", (data: Buffer) => {
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
    buffered += data.length;
    if (buffered >= HIGH_WATER) socket.pause();
    notify();
  });
  socket.on("end", () => {
    ended = true;
    notify();
  });
  socket.on("error", (error: Error) => {
    failure = error;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  return {
    async read() {
      while (chunks.length === 0) {
        if (closed || ended) return null;
        if (failure) throw failure;
        await new Promise<void>((resolve) => wake = resolve);
      }
      const out = chunks.length === 1 ? chunks[0] : concat(chunks);
      chunks = [];
      buffered = 0;
      socket.resume();
      return out;
    },
    write(data) {
      if (closed || socket.writableEnded) return Promise.reject(new ConnClosedError("ORPort connection"));
      return new Promise<void>((resolve, reject) => {
        socket.write(data, (error?: Error | null) => error ? reject(error) : resolve());
      });
    },
    closeWrite() {
      if (closed || socket.writableEnded) return Promise.resolve();
      return new Promise<void>((resolve) => socket.end(() => resolve()));
    },
    close() {
      if (closed) return;
      closed = true;
      socket.destroy();
      notify();
    },
  };
}

/** `conn` with `first` delivered before anything else it reads (bytes that arrived with a handshake). */
export function prependRead(conn: DuplexConn, first: Uint8Array): DuplexConn {
  if (first.length === 0) return conn;
  let pending: Uint8Array | null = first;
  return {
    read() {
      if (pending) {
        const out = pending;
        pending = null;
        return Promise.resolve(out);
      }
      return conn.read();
    },
    write: (data) => conn.write(data),
    closeWrite: () => conn.closeWrite(),
    close: () => conn.close(),
  };
}
