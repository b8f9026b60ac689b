/**
 * The AMP rendezvous URL path (SNOWFLAKE-PROTOCOL.md §5.1; Go
 * `common/amp/path.go`): `0` + base64url(9 random bytes) + `/` +
 * base64url(message), unpadded. The random part is a cache-breaker; the
 * decoder ignores everything between the `0` and the last `/`.
 */

import { decodeBase64RawUrl, encodeBase64RawUrl } from "./base64.ts";
import { MessageError } from "./errors.ts";

/** Length of the cache-breaking nonce in bytes (12 base64url characters). */
export const AMP_PATH_NONCE_BYTES = 9;

/** The path for `data`; `nonce` (9 bytes) defaults to fresh random bytes. */
export function encodeAmpPath(data: Uint8Array, nonce?: Uint8Array): string {
  const breaker = nonce ?? crypto.getRandomValues(new Uint8Array(AMP_PATH_NONCE_BYTES));
  return "0" + encodeBase64RawUrl(breaker) + "/" + encodeBase64RawUrl(data);
}

/**
 * The data in an encoded path. Throws {@link MessageError}: "missing format
 * indicator", "unknown format indicator 'c'", "missing data", or a base64 error.
 */
export function decodeAmpPath(path: string): Uint8Array {
  if (path.length === 0) throw new MessageError("missing format indicator");
  const indicator = path[0];
  if (indicator !== "0") throw new MessageError(`unknown format indicator '${indicator}'`);
  const slash = path.lastIndexOf("/");
  if (slash < 0) throw new MessageError("missing data");
  return decodeBase64RawUrl(path.slice(slash + 1));
}
