/**
 * SDP offers and answers as the broker carries them: JSON text
 * `{"type":"offer","sdp":"v=0\r\n..."}` (pion's `SessionDescription`),
 * itself embedded as a string in the broker messages
 * (SNOWFLAKE-PROTOCOL.md §4.2, §6.5, §7.5; Go `common/util/util.go`).
 *
 * The broker checks every offer and answer with {@link parseSessionDescription}
 * before passing it on: Go Snowflake does not, and a Go 2.5.1 proxy panics on
 * an offer whose `type` is not a string.
 */

import { MessageError } from "./errors.ts";
import { goJsonObject } from "./go_json.ts";

export type SdpType = "offer" | "pranswer" | "answer" | "rollback";

export interface SessionDescription {
  type: SdpType;
  sdp: string;
}

const SDP_TYPES: readonly string[] = ["offer", "pranswer", "answer", "rollback"];

/** `{"type":...,"sdp":...}` in Go's key order and escaping. */
export function serializeSessionDescription(description: SessionDescription): string {
  return goJsonObject([["type", description.type], ["sdp", description.sdp]]);
}

/**
 * Parses a serialized description. Throws {@link MessageError} unless it is a
 * JSON object with a known string `type` (and `expected` when given) and an
 * `sdp` string that starts with the SDP version line `v=0`.
 */
export function parseSessionDescription(text: string, expected?: SdpType): SessionDescription {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MessageError("invalid SDP: not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MessageError("invalid SDP: not a JSON object");
  }
  const { type, sdp } = value as Record<string, unknown>;
  if (typeof type !== "string" || !SDP_TYPES.includes(type)) {
    throw new MessageError("invalid SDP: unknown type");
  }
  if (expected !== undefined && type !== expected) {
    throw new MessageError(`invalid SDP: expected type ${expected}, got ${type}`);
  }
  if (typeof sdp !== "string" || !/^v=0\r?\n/.test(sdp)) throw new MessageError("invalid SDP: no v=0 line");
  return { type: type as SdpType, sdp };
}
