/**
 * The proxy's poll to the broker and the broker's reply
 * (SNOWFLAKE-PROTOCOL.md §4.5; Go `common/messages/proxy.go`, protocol 1.3).
 * Go's structs have no JSON tags, so the keys are capitalised Go field names
 * (`Sid`, `Version`, `Type`, `NAT`, `Clients`, `AcceptedRelayPattern`;
 * `Status`, `Offer`, `NAT`, `RelayURL`), read case-insensitively.
 */

import { MessageError } from "./errors.ts";
import { decodeGoStruct, goJsonObject } from "./go_json.ts";
import { NAT_UNKNOWN, type NatType, parseNatType } from "./nat.ts";

/** The proxy protocol version the Go 2.5.1 proxy sends; the broker accepts any `1.x`. */
export const PROXY_VERSION = "1.3";

/** Proxy types counted by name; any other type is accepted and recorded as `unknown`. */
export const KNOWN_PROXY_TYPES: readonly string[] = ["badge", "iptproxy", "standalone", "webext"];
/** What an unrecognised proxy type is recorded as (Go `ProxyUnknown`). */
export const PROXY_TYPE_UNKNOWN = "unknown";

export const STATUS_CLIENT_MATCH = "client match";
export const STATUS_NO_MATCH = "no match";
export const STATUS_INCORRECT_RELAY_PATTERN = "incorrect relay pattern";

export interface ProxyPollRequest {
  /** Proxy session ID: the key its answer is posted under. */
  sid: string;
  version: string;
  /** One of {@link KNOWN_PROXY_TYPES} or `unknown` after decoding. */
  type: string;
  nat: NatType;
  /** Current clients, rounded down to a multiple of 8 by the proxy. */
  clients: number;
  /** Relay hostname pattern; undefined for a proxy that predates the field (which matters, §4.9). */
  acceptedRelayPattern?: string;
}

export interface ProxyPollResponse {
  status: string;
  /** The client's offer (SDP as JSON text) on a match, else empty. */
  offer: string;
  /** The client's NAT type on a match, else empty. */
  nat: string;
  /** WebSocket URL of the bridge the client asked for, on a match. */
  relayURL: string;
}

const encoder = new TextEncoder();

/** What the Go 1.3 proxy sends: every key, `AcceptedRelayPattern` included. */
export function encodeProxyPollRequest(request: {
  sid: string;
  type: string;
  nat: string;
  clients: number;
  acceptedRelayPattern: string;
}): Uint8Array<ArrayBuffer> {
  return encoder.encode(goJsonObject([
    ["Sid", request.sid],
    ["Version", PROXY_VERSION],
    ["Type", request.type],
    ["NAT", request.nat],
    ["Clients", request.clients],
    ["AcceptedRelayPattern", request.acceptedRelayPattern],
  ]));
}

const POLL_FIELDS = {
  Sid: "string",
  Version: "string",
  Type: "string",
  NAT: "string",
  Clients: "int",
  AcceptedRelayPattern: "string",
} as const;

/** Whether `version` is a 1.x version (the part before the first `.` is `1`), which the broker accepts. */
export function isVersion1(version: string): boolean {
  return version.split(".")[0] === "1";
}

/**
 * Decodes a proxy poll. Throws {@link MessageError}: "using unknown version",
 * "no supplied session id", "invalid NAT type", or a JSON error. An unknown
 * proxy type is not an error: it becomes `unknown`.
 */
export function decodeProxyPollRequest(body: Uint8Array | string): ProxyPollRequest {
  const message = decodeGoStruct(body, POLL_FIELDS);
  const version = message.Version ?? "";
  if (!isVersion1(version)) throw new MessageError("using unknown version");
  if (!message.Sid) throw new MessageError("no supplied session id");
  const nat = parseNatType(message.NAT ?? "");
  const type = KNOWN_PROXY_TYPES.includes(message.Type ?? "") ? message.Type! : PROXY_TYPE_UNKNOWN;
  const request: ProxyPollRequest = { sid: message.Sid, version, type, nat, clients: message.Clients ?? 0 };
  if (message.AcceptedRelayPattern !== undefined) request.acceptedRelayPattern = message.AcceptedRelayPattern;
  return request;
}

/** The broker's reply; Go writes all four keys, empty ones included. */
export function encodeProxyPollResponse(response: ProxyPollResponse): Uint8Array<ArrayBuffer> {
  return encoder.encode(goJsonObject([
    ["Status", response.status],
    ["Offer", response.offer],
    ["NAT", response.nat],
    ["RelayURL", response.relayURL],
  ]));
}

/** A `client match` reply. */
export function clientMatchResponse(offer: string, nat: string, relayURL: string): ProxyPollResponse {
  return { status: STATUS_CLIENT_MATCH, offer, nat, relayURL };
}

/** A reply without a client: `no match` or `incorrect relay pattern`. */
export function noClientResponse(status: string = STATUS_NO_MATCH): ProxyPollResponse {
  return { status, offer: "", nat: "", relayURL: "" };
}

/** What a proxy takes from the broker's reply; `offer` is empty on `no match`. */
export interface ProxyPollResult {
  offer: string;
  nat: NatType | string;
  relayURL: string;
}

/**
 * Proxy side: decodes the reply. Throws "received invalid data" (no status),
 * "no supplied offer" (a match without offer), or the status itself for any
 * status other than `client match` / `no match`. An empty NAT becomes `unknown`.
 */
export function decodeProxyPollResponse(body: Uint8Array | string): ProxyPollResult {
  const message = decodeGoStruct(body, {
    Status: "string",
    Offer: "string",
    NAT: "string",
    RelayURL: "string",
  });
  if (!message.Status) throw new MessageError("received invalid data");
  let offer = message.Offer ?? "";
  if (message.Status === STATUS_CLIENT_MATCH) {
    if (!offer) throw new MessageError("no supplied offer");
  } else {
    if (message.Status !== STATUS_NO_MATCH) throw new MessageError(message.Status);
    offer = "";
  }
  return { offer, nat: message.NAT || NAT_UNKNOWN, relayURL: message.RelayURL ?? "" };
}
