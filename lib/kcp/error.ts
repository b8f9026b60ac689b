/**
 * The typed error of the KCP layer. A malformed packet from the network never
 * throws out of a session or listener: it is dropped (what kcp-go does, see
 * KCP-SMUX.md §1.5), counted, and logged with one of these codes. The codec
 * ({@link decodeSegment}) throws it directly.
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

/** kcp-go `Input` return codes (§1.5); 0 is success. A packet under 24 bytes also gives −1, as in Go. */
export const INPUT_OK = 0;
export const INPUT_CONV_MISMATCH = -1;
export const INPUT_BAD_LENGTH = -2;
export const INPUT_BAD_COMMAND = -3;

/** The KcpError for a negative {@link Arq.input} result on a packet of `length` bytes. */
export function inputError(code: number, length: number): KcpError {
  if (code === INPUT_BAD_LENGTH) return new KcpError("bad-length", "segment length runs past the packet end");
  if (code === INPUT_BAD_COMMAND) return new KcpError("bad-command", "unknown segment command");
  if (length < 24) return new KcpError("short-packet", `packet of ${length} bytes is shorter than a header`);
  return new KcpError("conv-mismatch", "segment for another conversation");
}
