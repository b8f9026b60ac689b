/**
 * One JS realm's view of the native shim: the loaded library, the realm's
 * event context, and the scratch buffer that calls write results and error
 * messages into. Loaded on first use, so importing the binding needs neither
 * the library nor --allow-ffi.
 */

import { loadNativeLibrary } from "./loader.ts";
import type { NativeLibrary } from "./symbols.ts";
import { WebRTCError } from "./errors.ts";

/**
 * Size of the result buffer: holds any SDP or error message. A result larger
 * than this is an error from the shim ("exceeds the output buffer"), never cut.
 */
const OUT_CAPACITY = 256 << 10;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Native {
  readonly symbols: NativeLibrary["symbols"];
  readonly context: number;
  /** The context's eventfd, which swrtc_wait_poll sleeps on. */
  readonly wakeFd: number;
  readonly out: Uint8Array<ArrayBuffer> = new Uint8Array(OUT_CAPACITY);

  private constructor(library: NativeLibrary) {
    this.symbols = library.symbols;
    this.context = this.check(library.symbols.swrtc_context_new(this.out, this.out.length));
    this.wakeFd = library.symbols.swrtc_context_fd(this.context);
    // Close every peer connection of this realm on exit, so that remote peers
    // see DTLS close_notify instead of waiting for ICE to time out.
    globalThis.addEventListener("unload", () => this.symbols.swrtc_close_all(this.context));
  }

  static #instance: Native | undefined;

  static get(): Native {
    return Native.#instance ??= new Native(loadNativeLibrary());
  }

  /** Returns a call's non-negative result; throws a WebRTCError with pion's message for a negative one. */
  check(result: number): number {
    if (result < 0) throw new WebRTCError(decoder.decode(this.out.subarray(0, -result)));
    return result;
  }

  /** The text a call wrote to `out` (its checked result is the length). */
  text(result: number): string {
    return decoder.decode(this.out.subarray(0, this.check(result)));
  }

  encode(text: string): Uint8Array<ArrayBuffer> {
    return encoder.encode(text);
  }
}
