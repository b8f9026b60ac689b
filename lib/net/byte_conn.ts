/**
 * A reliable, ordered byte stream, the interface between a byte-stream layer and
 * what it runs over: smux over a KCP session, encapsulation over a WebSocket or
 * data channel, the stream copied to a SOCKS or ExtORPort connection.
 * Promise-based rather than Web Streams so that hot paths (KCP ⇄ smux) can hand
 * over every ready byte in one call. A TCP connection to tor is one too, with
 * half-close (`DuplexConn` in lib/pt/or_conn.ts).
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
