/**
 * A reliable, ordered byte stream, the interface between a byte-stream layer and
 * what it runs over: smux over a KCP session, encapsulation over a WebSocket or
 * data channel, the stream copied to a SOCKS or ExtORPort connection.
 * Promise-based rather than Web Streams so that hot paths (KCP ⇄ smux) can hand
 * over every ready byte in one call; {@link byteConnToStreams} and
 * {@link tcpByteConn} adapt to the runtime's idioms.
 */

export interface ByteConn {
  /** The next bytes, in order; null at end of stream. The caller owns the chunk. */
  read(): Promise<Uint8Array | null>;
  /**
   * Queues `data`; resolves when the conn can take more (back-pressure). Rejects
   * with ConnClosedError once closed. The conn owns `data` afterwards.
   */
  write(data: Uint8Array): Promise<void>;
  /** Closes both directions. Idempotent. */
  close(): void;
}

/** Copies `from` into `to` until `from` ends or either fails; returns the byte count. */
export async function copyByteConn(from: ByteConn, to: ByteConn): Promise<number> {
  let total = 0;
  for (;;) {
    const chunk = await from.read();
    if (chunk === null) return total;
    total += chunk.length;
    await to.write(chunk);
  }
}

/** A ByteConn over a Deno TCP (or Unix, or TLS) connection. */
export function tcpByteConn(conn: Deno.Conn, readSize = 64 * 1024): ByteConn {
  let closed = false;
  return {
    async read() {
      if (closed) return null;
      const buf = new Uint8Array(readSize);
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (error) {
        if (closed) return null;
        throw error;
      }
      return n === null ? null : buf.subarray(0, n);
    },
    async write(data) {
      let off = 0;
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed by the peer side of the runtime
      }
    },
  };
}

/** Web Streams view of a ByteConn (readable ends at the conn's end; closing the writable closes the conn). */
export function byteConnToStreams(conn: ByteConn): {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
} {
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await conn.read();
      if (chunk === null) controller.close();
      else controller.enqueue(chunk);
    },
    cancel() {
      conn.close();
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => conn.write(chunk),
    close: () => conn.close(),
    abort: () => conn.close(),
  });
  return { readable, writable };
}
