/** Digests tests compare delivered byte streams by. */

import { toHex } from "../../lib/util/bytes.ts";

/** SHA-256 of `bytes` as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())));
}
