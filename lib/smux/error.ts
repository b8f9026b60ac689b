/**
 * The typed error of the smux layer. Malformed input from the peer, a keepalive
 * timeout or a failed underlying connection ends that one session with a
 * SmuxError; it never throws out of the adapter's background loops.
 * See KCP-SMUX.md §8.12 for what Go smux does in each case.
 */

/** What went wrong, as a stable string a caller can switch on. */
export type SmuxErrorCode =
  | "invalid-config" // a config field outside smux's VerifyConfig limits (§8.1)
  | "invalid-version" // a frame whose ver is not the session's version (Go: "invalid protocol")
  | "unknown-command" // a frame whose cmd is not SYN/FIN/PSH/NOP/UPD (Go: "invalid protocol")
  | "keepalive-timeout" // no frame from the peer during a whole KeepAliveTimeout tick (§8.9)
  | "go-away" // the stream id counter wrapped; open a new session (Go: ErrGoAway, §8.3)
  | "peer-consumed-more" // an UPD said the peer read more than we sent (Go: ErrConsumed, §8.6)
  | "peer-closed" // the peer sent FIN and its window is used up, so the write can never finish (Go: io.EOF)
  | "connection-ended" // the underlying connection reached end of stream
  | "connection-failed"; // reading or writing the underlying connection threw

/** Why an smux session or stream ended; `code` says which. */
export class SmuxError extends Error {
  /** Always "SmuxError". */
  override name = "SmuxError";
  /** `code`: what went wrong; `message`: the details (prefixed "smux: "); `cause`: the underlying error. */
  constructor(readonly code: SmuxErrorCode, message: string, options?: { cause?: unknown }) {
    super(`smux: ${message}`, options);
  }
}
