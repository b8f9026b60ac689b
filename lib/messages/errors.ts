/**
 * The one error type of the broker's wire messages. Its message is the text Go
 * Snowflake puts on the wire for the same fault where there is one (a client
 * poll's decode error goes back to the client in `{"error": ...}`), so keep
 * those texts byte-exact. See SNOWFLAKE-PROTOCOL.md §4 and §10 #27–#31.
 */

/** A malformed or unacceptable broker message. */
export class MessageError extends Error {
  override name = "MessageError";
}
