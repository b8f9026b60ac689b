/**
 * Errors of the WebRTC binding. Failures reported by pion (bad SDP, a send the
 * stack refused) arrive as {@link WebRTCError} carrying pion's message; misuse
 * that the W3C API defines (sending before "open", calling a closed
 * connection) throws the same DOMException a browser throws, so role code
 * behaves alike on both.
 */

/** An error reported by the native WebRTC stack (pion), with its message. */
export class WebRTCError extends Error {
  override name = "WebRTCError";
}

/** The native library could not be found or loaded; the message says how to build it. */
export class WebRTCLibraryError extends Error {
  override name = "WebRTCLibraryError";
}

/** The DOMException a browser throws when an object is in the wrong state for a call. */
export function invalidState(message: string): DOMException {
  return new DOMException(message, "InvalidStateError");
}
