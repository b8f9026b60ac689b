/**
 * The typed error of the KCP layer. A malformed packet from the network never
 * throws out of a session or listener: it is dropped (what kcp-go does, see
 * KCP-SMUX.md §1.5), counted, and logged with one of these codes. The codec
 * (decodeSegment) throws it; the state machine's handleInput returns it (kcp-go's
 * Input −1/−2/−3, named where they arise: −1 covers both a short packet and
 * another conv).
 */

/** What went wrong, as a stable string a caller can switch on. */
export type KcpErrorCode =
  | "short-packet" // fewer than 24 bytes: no whole segment header (§1.4)
  | "conv-mismatch" // a segment's conv is not the session's (kcp-go Input −1)
  | "bad-length" // a segment's len runs past the end of the packet (kcp-go Input −2)
  | "bad-command" // cmd is not PUSH/ACK/WASK/WINS (kcp-go Input −3)
  | "fec-packet" // bytes 4–5 read 0x00F1/0x00F2: kcp-go would take it for FEC, which we do not speak (§1.5)
  | "foreign-source" // a dialed session got a packet from a second source address: kcp-go's read loop drops it
  | "new-conv-rejected" // a known address sent another conv with sn ≠ 0: kcp-go drops it (§2.2)
  | "backlog-full" // a new conversation while 128 sessions wait for accept (§2.2)
  | "too-many-sessions" // a new conversation while the listener is at its session cap (ours)
  | "message-too-large" // message mode: a write of more than 255 fragments (kcp-go Send −2)
  | "invalid-options"; // a KcpOptions field out of range

/** A KCP failure or a dropped packet's reason; `code` says which. */
export class KcpError extends Error {
  /** Always "KcpError". */
  override name = "KcpError";
  /** `code`: what went wrong; `message`: the details (prefixed "kcp: "). */
  constructor(readonly code: KcpErrorCode, message: string) {
    super(`kcp: ${message}`);
  }
}
