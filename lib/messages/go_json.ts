/**
 * JSON as Go's `encoding/json` reads and writes the broker messages
 * (SNOWFLAKE-PROTOCOL.md §4.12), so our bytes match Go's and we accept what a
 * Go broker accepts:
 *
 * - decoding into a "struct": object keys match field names exactly or, failing
 *   that, case-insensitively (`{"sid": ...}` fills `Sid`); unknown keys are
 *   ignored; `null` leaves a field unset; a top-level `null` is an empty
 *   message; a value of the wrong JSON type is an error;
 * - encoding strings: `<`, `>`, `&`, U+2028 and U+2029 are escaped as
 *   `\u003c`..., control characters as `\n`, `\r`, `\t` or `\u00XX`, and
 *   unpaired surrogates (invalid UTF-8 in Go) become U+FFFD.
 */

import { errorMessage } from "../util/errors.ts";
import { MessageError } from "./errors.ts";

/**
 * How a struct field is decoded: a Go `string` or `int`. Absent and `null` both come back undefined,
 * which also serves a Go `*string` (absent/`null` = nil).
 */
export type GoFieldKind = "string" | "int";

export type GoFields = Record<string, GoFieldKind>;

/** Decoded fields by their declared name; a field absent or `null` in the input is undefined. */
export type GoStruct<F extends GoFields> = {
  [K in keyof F]?: F[K] extends "int" ? number : string;
};

const decoder = new TextDecoder();

/** Parses `body` (bytes or text) as JSON and maps it onto `fields` the way Go's `json.Unmarshal` does. */
export function decodeGoStruct<F extends GoFields>(body: Uint8Array | string, fields: F): GoStruct<F> {
  const text = typeof body === "string" ? body : decoder.decode(body);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MessageError(`invalid JSON: ${errorMessage(error)}`);
  }
  const out: Record<string, string | number> = {};
  if (value === null) return out as GoStruct<F>;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new MessageError(`json: cannot unmarshal ${jsonKind(value)} into a message object`);
  }
  const names = Object.keys(fields);
  const lowered = names.map((name) => name.toLowerCase());
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    let index = names.indexOf(key);
    if (index < 0) index = lowered.indexOf(key.toLowerCase());
    if (index < 0 || field === null) continue;
    const name = names[index];
    const kind = fields[name];
    if (kind === "string") {
      if (typeof field !== "string") throw typeError(field, name, "string");
      out[name] = field;
    } else {
      if (typeof field !== "number" || !Number.isSafeInteger(field)) throw typeError(field, name, "int");
      out[name] = field;
    }
  }
  return out as GoStruct<F>;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function typeError(value: unknown, field: string, type: string): MessageError {
  return new MessageError(`json: cannot unmarshal ${jsonKind(value)} into field ${field} of type ${type}`);
}

const ESCAPES = /\\(u[0-9a-fA-F]{4}|.)|[<>&\u2028\u2029]/g;

/** A JSON string literal, byte-for-byte what Go's encoder writes for `text`. */
export function goJsonString(text: string): string {
  return JSON.stringify(text).replace(ESCAPES, (match, escaped: string | undefined) => {
    if (escaped === undefined) return "\\u" + match.charCodeAt(0).toString(16).padStart(4, "0");
    if (escaped === "b") return "\\u0008";
    if (escaped === "f") return "\\u000c";
    // JSON.stringify writes unpaired surrogates as \udXXX; Go writes U+FFFD for the invalid UTF-8.
    if (/^u[dD][89a-fA-F]/.test(escaped)) return "\ufffd";
    return match;
  });
}

/** A JSON object with the given keys in the given order (Go's struct order); values are strings or integers. */
export function goJsonObject(entries: [string, string | number][]): string {
  let out = "{";
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i];
    if (i > 0) out += ",";
    out += goJsonString(key) + ":" + (typeof value === "number" ? String(value) : goJsonString(value));
  }
  return out + "}";
}
