/**
 * tor's Extended ORPort auth cookie file (SNOWFLAKE-PROTOCOL.md §9.9): exactly
 * 64 bytes, the 32-byte header `! Extended ORPort Auth Cookie !\n` then the
 * 32-byte cookie. goptlib re-reads it for every connection (tor may rewrite it
 * on restart, tor bug 15240), and so do we.
 */

import { errorMessage } from "../util/errors.ts";
import { timingSafeEqual } from "node:crypto";

export const AUTH_COOKIE_HEADER: Uint8Array = new TextEncoder().encode("! Extended ORPort Auth Cookie !\n");
export const AUTH_COOKIE_LENGTH = 32;

/** A cookie file that is not what tor writes. */
export class AuthCookieError extends Error {
  override name = "AuthCookieError";
}

/** The cookie inside a cookie file's bytes; throws {@link AuthCookieError} with goptlib's wording. */
export function parseAuthCookie(file: Uint8Array): Uint8Array {
  if (file.length < 64) throw new AuthCookieError("unexpected EOF");
  if (file.length > 64) throw new AuthCookieError("file is longer than 64 bytes");
  if (!timingSafeEqual(file.subarray(0, 32), AUTH_COOKIE_HEADER)) {
    throw new AuthCookieError("missing auth cookie header");
  }
  return file.slice(32, 64);
}

/** The bytes of a cookie file holding `cookie` (for stand-ins and tests). */
export function formatAuthCookie(cookie: Uint8Array): Uint8Array {
  if (cookie.length !== AUTH_COOKIE_LENGTH) throw new RangeError("auth cookie must be 32 bytes");
  const out = new Uint8Array(64);
  out.set(AUTH_COOKIE_HEADER);
  out.set(cookie, 32);
  return out;
}

/** Reads and parses the cookie file at `path`; errors say which file and why. */
export async function readAuthCookieFile(path: string): Promise<Uint8Array> {
  try {
    // Read at most 65 bytes: enough to tell "longer than 64" without trusting the file's size.
    using file = await Deno.open(path, { read: true });
    const buffer = new Uint8Array(65);
    let length = 0;
    for (;;) {
      const n = await file.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
      if (length === buffer.length) break;
    }
    return parseAuthCookie(buffer.subarray(0, length));
  } catch (error) {
    const why = errorMessage(error);
    throw new AuthCookieError(`error reading TOR_PT_AUTH_COOKIE_FILE ${JSON.stringify(path)}: ${why}`);
  }
}
