/**
 * The client's poll to the broker and the broker's reply
 * (SNOWFLAKE-PROTOCOL.md §4.2–§4.3; Go `common/messages/client.go`).
 *
 * Versioned request: `1.0` LF then `{"offer":...,"nat":...,"fingerprint":...}`;
 * reply `{"answer":...}` or `{"error":...}`, always HTTP 200. Legacy request
 * (body starts with `{`): the body is the offer, the NAT type is in the
 * `Snowflake-NAT-Type` header; reply is the bare answer (200), or 503 (no
 * proxies) / 504 (timed out) with an empty body. The AMP rendezvous (§4.4)
 * carries the versioned bytes.
 */

import { MessageError } from "./errors.ts";
import { DEFAULT_BRIDGE_FINGERPRINT, parseBridgeFingerprint } from "./fingerprint.ts";
import { decodeGoStruct, goJsonObject } from "./go_json.ts";
import { type NatType, parseNatType } from "./nat.ts";

/** The version line of a client poll (Go `ClientVersion`). */
export const CLIENT_VERSION = "1.0";

/** Header carrying the NAT type of a legacy client poll. */
export const LEGACY_NAT_HEADER = "Snowflake-NAT-Type";

/** Error text: no compatible proxy was waiting (Go `StrNoProxies`). */
export const STR_NO_PROXIES = "no snowflake proxies currently available";
/** Error text: the matched proxy did not answer in time (Go `StrTimedOut`). */
export const STR_TIMED_OUT = "timed out waiting for answer!";

export interface ClientPollRequest {
  /** The SDP offer serialized as JSON text (`{"type":"offer","sdp":...}`), see session_description.ts. */
  offer: string;
  nat: NatType;
  /** Bridge fingerprint, uppercase hex after decoding. */
  fingerprint: string;
}

export interface ClientPollResponse {
  /** The proxy's SDP answer as JSON text; set on success. */
  answer?: string;
  /** Why there is no answer; set on failure. */
  error?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `1.0\n{"offer":...,"nat":...,"fingerprint":...}`; an empty fingerprint becomes the default bridge's. */
export function encodeClientPollRequest(request: {
  offer: string;
  nat: string;
  fingerprint?: string;
}): Uint8Array<ArrayBuffer> {
  const body = goJsonObject([
    ["offer", request.offer],
    ["nat", request.nat],
    ["fingerprint", request.fingerprint || DEFAULT_BRIDGE_FINGERPRINT],
  ]);
  return encoder.encode(`${CLIENT_VERSION}\n${body}`);
}

const CLIENT_POLL_FIELDS = { offer: "string", nat: "string", fingerprint: "string" } as const;

/**
 * Decodes a versioned client poll. Throws {@link MessageError} with Go's text:
 * "unsupported message version", "no supplied offer", "cannot decode fingerprint",
 * "invalid NAT type", or a JSON error.
 */
export function decodeClientPollRequest(body: Uint8Array): ClientPollRequest {
  const newline = body.indexOf(0x0a);
  if (newline < 0 || decoder.decode(body.subarray(0, newline)) !== CLIENT_VERSION) {
    throw new MessageError("unsupported message version");
  }
  const message = decodeGoStruct(body.subarray(newline + 1), CLIENT_POLL_FIELDS);
  if (!message.offer) throw new MessageError("no supplied offer");
  const fingerprint = parseBridgeFingerprint(message.fingerprint || DEFAULT_BRIDGE_FINGERPRINT);
  const nat = parseNatType(message.nat ?? "");
  return { offer: message.offer, nat, fingerprint };
}

/** Whether a `/client` body is in the legacy format (its first byte is `{`). */
export function isLegacyClientPoll(body: Uint8Array): boolean {
  return body.length > 0 && body[0] === 0x7b;
}

/** Decodes a legacy client poll: the body is the offer, the NAT type comes from the header. */
export function decodeLegacyClientPollRequest(body: Uint8Array, natHeader: string | null): ClientPollRequest {
  if (body.length === 0) throw new MessageError("no supplied offer");
  return {
    offer: decoder.decode(body),
    nat: parseNatType(natHeader ?? ""),
    fingerprint: DEFAULT_BRIDGE_FINGERPRINT,
  };
}

/** The body and headers of a legacy client poll. */
export function encodeLegacyClientPollRequest(
  offer: string,
  nat: string,
): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  return { body: encoder.encode(offer), headers: { [LEGACY_NAT_HEADER]: nat } };
}

/** `{"answer":...}` or `{"error":...}` (Go `omitempty`: empty fields are left out). */
export function encodeClientPollResponse(response: ClientPollResponse): Uint8Array<ArrayBuffer> {
  const entries: [string, string][] = [];
  if (response.answer) entries.push(["answer", response.answer]);
  if (response.error) entries.push(["error", response.error]);
  return encoder.encode(goJsonObject(entries));
}

/** Client side: parses the reply; both fields empty throws "received empty broker response". */
export function decodeClientPollResponse(body: Uint8Array | string): ClientPollResponse {
  const message = decodeGoStruct(body, { answer: "string", error: "string" });
  if (!message.answer && !message.error) throw new MessageError("received empty broker response");
  const response: ClientPollResponse = {};
  if (message.answer) response.answer = message.answer;
  if (message.error) response.error = message.error;
  return response;
}

/** Broker side of a legacy reply: the answer with 200, or an empty 503 / 504 (other errors: 500). */
export function encodeLegacyClientPollResponse(response: ClientPollResponse): {
  status: number;
  body: Uint8Array<ArrayBuffer>;
} {
  if (!response.error && response.answer) return { status: 200, body: encoder.encode(response.answer) };
  switch (response.error) {
    case STR_NO_PROXIES:
      return { status: 503, body: new Uint8Array() };
    case STR_TIMED_OUT:
      return { status: 504, body: new Uint8Array() };
    default:
      return { status: 500, body: new Uint8Array() };
  }
}

/** Client side of a legacy reply: maps the status back to an answer or Go's error text. */
export function decodeLegacyClientPollResponse(status: number, body: Uint8Array): ClientPollResponse {
  switch (status) {
    case 200:
      if (body.length === 0) throw new MessageError("received empty broker response");
      return { answer: decoder.decode(body) };
    case 503:
      return { error: STR_NO_PROXIES };
    case 504:
      return { error: STR_TIMED_OUT };
    default:
      throw new MessageError(`unexpected broker status ${status}`);
  }
}
