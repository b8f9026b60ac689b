/**
 * The machine's record of one smux stream: bytes received and not yet read, and
 * the version 2 flow-control counters of both directions. See KCP-SMUX.md §8.6
 * (sender: numWritten, peerConsumed, peerWindow) and §8.7 (receiver: numRead,
 * incr). All counters are u32 on the wire and wrap like Go's.
 */

import { SmuxError } from "./error.ts";
import { concat } from "../util/bytes.ts";

/** The window a v2 sender assumes before the peer's first UPD, whatever the config (`frame.go`). */
export const INITIAL_PEER_WINDOW = 262144;

export class StreamState {
  /** Received payloads not yet read, oldest first. Bounded by the session's receive bucket. */
  #buffers: Uint8Array[] = [];
  /** Bytes in #buffers. */
  buffered = 0;
  /** The peer's FIN arrived: reads end after the buffer drains. */
  finReceived = false;
  /** u32: bytes the application has read (the UPD `consumed` field). */
  numRead = 0;
  /** Bytes read since the last UPD. */
  incr = 0;
  /** u32: payload bytes queued in our PSH frames. */
  numWritten = 0;
  /** u32: the peer's `consumed` from its latest UPD. */
  peerConsumed = 0;
  /** u32: the peer's `window` from its latest UPD. */
  peerWindow = INITIAL_PEER_WINDOW;

  constructor(readonly id: number) {}

  push(payload: Uint8Array): void {
    this.#buffers.push(payload);
    this.buffered += payload.length;
  }

  /** Every buffered byte as one array (a copy only when several payloads are buffered). */
  takeAll(): Uint8Array {
    const buffers = this.#buffers;
    this.#buffers = [];
    this.buffered = 0;
    return buffers.length === 1 ? buffers[0] : concat(buffers);
  }

  /**
   * Bytes we may send now (v2): the peer's window minus what is in flight, in
   * Go's int32 arithmetic (a window ≥ 2³¹ counts as negative, as in Go). Throws
   * SmuxError("peer-consumed-more") when the peer claims to have read more than we sent.
   */
  sendWindow(): number {
    const inflight = (this.numWritten - this.peerConsumed) | 0;
    if (inflight < 0) {
      throw new SmuxError(
        "peer-consumed-more",
        `stream ${this.id}: peer consumed more than sent (${this.peerConsumed} > ${this.numWritten})`,
      );
    }
    return ((this.peerWindow | 0) - inflight) | 0;
  }
}
