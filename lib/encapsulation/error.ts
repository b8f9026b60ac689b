/**
 * The one error type of the encapsulation layer (SNOWFLAKE-PROTOCOL.md §2).
 * `code` says what was wrong so a carrier can log it and end only that stream.
 */

/** What went wrong: Go's `ErrTooLong`, our own size limit, or Go's `io.ErrUnexpectedEOF`. */
export type EncapsulationErrorCode =
  /** A length prefix longer than 3 bytes, or a packet longer than 1048575 bytes to encode (Go's ErrTooLong). */
  | "too-long"
  /** A data chunk longer than the decoder's `maxPacketSize` (ours: refused before its body is buffered). */
  | "over-limit"
  /** The stream ended inside a length prefix or inside a chunk's body. */
  | "unexpected-eof";

/** Malformed or oversized encapsulation; `code` says which (see {@link EncapsulationErrorCode}). */
export class EncapsulationError extends Error {
  /** Always "EncapsulationError". */
  override name = "EncapsulationError";
  /** `code`: what went wrong; `message`: the details. */
  constructor(readonly code: EncapsulationErrorCode, message: string) {
    super(message);
  }
}
