/**
 * An smux stream as a {@link ByteConn}: what the application reads from and
 * writes to. All the work happens in the session (lib/smux/session.ts); this is
 * the handle. Semantics follow Go smux v1.5.16 (KCP-SMUX.md §8.6–§8.8):
 * - `read()` returns every buffered byte in one chunk, null after the peer's FIN
 *   (once the buffer is drained) or after a local close;
 * - `write()` resolves when its frames are handed to the connection, waiting for
 *   the peer's window (UPD) as needed; it rejects with SmuxError("peer-closed")
 *   when the peer sent FIN and its window ran out;
 * - `close()` is a full close: sends FIN and drops unread bytes (there is no
 *   half-close in smux).
 */

import type { ByteConn } from "../net/byte_conn.ts";
import { ConnClosedError } from "../net/packet_conn.ts";

/** What a stream needs from its session. */
export interface StreamDriver {
  read(id: number): Promise<Uint8Array | null>;
  write(id: number, data: Uint8Array): Promise<void>;
  close(id: number): void;
}

/** One smux stream as a {@link ByteConn}; reads, writes and closes go through its session. */
export class SmuxStream implements ByteConn {
  readonly #driver: StreamDriver;
  // Checked here as well as in the session: a peer may reuse this id for a new stream after we close ours.
  #closed = false;

  /** Made by {@link SmuxSession} for stream `id`. */
  constructor(readonly id: number, driver: StreamDriver) {
    this.#driver = driver;
  }

  read(): Promise<Uint8Array | null> {
    return this.#closed ? Promise.resolve(null) : this.#driver.read(this.id);
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnClosedError(`smux stream ${this.id}`));
    return this.#driver.write(this.id, data);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#driver.close(this.id);
  }
}
