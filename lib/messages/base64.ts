/**
 * Base64 as Go's `encoding/base64` does it, for the AMP encodings
 * (SNOWFLAKE-PROTOCOL.md §5.1, §5.4): `StdEncoding` (padded, `+/`) and
 * `RawURLEncoding` (unpadded, `-_`). Decoding skips CR and LF like Go, requires
 * padding exactly where the encoding has it, and, like Go's non-strict mode,
 * ignores leftover bits in the last character.
 */

import { MessageError } from "./errors.ts";

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function reverse(alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const STD_REVERSE = reverse(STD);
const URL_REVERSE = reverse(URL);

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + (pad ? "==" : "");
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + (pad ? "=" : "");
  }
  return out;
}

function decode(text: string, table: Int16Array, padded: boolean): Uint8Array {
  const clean = text.includes("\r") || text.includes("\n") ? text.replace(/[\r\n]/g, "") : text;
  let end = clean.length;
  if (padded) {
    if (end % 4 !== 0) throw new MessageError("illegal base64 data: length is not a multiple of 4");
    if (end > 0 && clean[end - 1] === "=") end--;
    if (end > 0 && clean[end - 1] === "=") end--;
    if (end % 4 === 1) throw new MessageError("illegal base64 data: bad padding");
  } else if (end % 4 === 1) {
    throw new MessageError("illegal base64 data: truncated");
  }
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let count = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const code = clean.charCodeAt(i);
    const value = code < 128 ? table[code] : -1;
    if (value < 0) throw new MessageError(`illegal base64 data at input byte ${i}`);
    bits = (bits << 6) | value;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[o++] = (bits >> count) & 0xff;
    }
  }
  return out;
}

/** Go `base64.StdEncoding.EncodeToString`. */
export function encodeBase64Std(bytes: Uint8Array): string {
  return encode(bytes, STD, true);
}

/** Go `base64.StdEncoding.DecodeString`; throws {@link MessageError}. */
export function decodeBase64Std(text: string): Uint8Array {
  return decode(text, STD_REVERSE, true);
}

/** Go `base64.RawURLEncoding.EncodeToString`. */
export function encodeBase64RawUrl(bytes: Uint8Array): string {
  return encode(bytes, URL, false);
}

/** Go `base64.RawURLEncoding.DecodeString`; throws {@link MessageError}. */
export function decodeBase64RawUrl(text: string): Uint8Array {
  return decode(text, URL_REVERSE, false);
}
