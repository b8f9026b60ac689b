/**
 * The proxy's answer to a client offer and the broker's reply
 * (SNOWFLAKE-PROTOCOL.md §4.6; Go `common/messages/proxy.go`).
 * Request keys in Go order `Version`, `Sid`, `Answer`; reply `{"Status":...}`
 * with `success` (the waiting client gets the answer) or `client gone`.
 */

import { MessageError } from "./errors.ts";
import { decodeGoStruct, goJsonObject } from "./go_json.ts";
import { isVersion1, PROXY_VERSION } from "./proxy_poll.ts";

export const STATUS_SUCCESS = "success";
export const STATUS_CLIENT_GONE = "client gone";

export interface ProxyAnswerRequest {
  version: string;
  sid: string;
  /** The SDP answer serialized as JSON text. */
  answer: string;
}

const encoder = new TextEncoder();

export function encodeProxyAnswerRequest(request: { sid: string; answer: string }): Uint8Array<ArrayBuffer> {
  return encoder.encode(
    goJsonObject([["Version", PROXY_VERSION], ["Sid", request.sid], ["Answer", request.answer]]),
  );
}

/** Throws {@link MessageError}: "using unknown version", "no supplied sid or answer", or a JSON error. */
export function decodeProxyAnswerRequest(body: Uint8Array | string): ProxyAnswerRequest {
  const message = decodeGoStruct(body, { Version: "string", Sid: "string", Answer: "string" });
  const version = message.Version ?? "";
  if (!isVersion1(version)) throw new MessageError("using unknown version");
  if (!message.Sid || !message.Answer) throw new MessageError("no supplied sid or answer");
  return { version, sid: message.Sid, answer: message.Answer };
}

/** `{"Status":"success"}` or `{"Status":"client gone"}`. */
export function encodeProxyAnswerResponse(success: boolean): Uint8Array<ArrayBuffer> {
  return encoder.encode(goJsonObject([["Status", success ? STATUS_SUCCESS : STATUS_CLIENT_GONE]]));
}

/** Proxy side: true for `success`; any other status is false; no status throws "received invalid data". */
export function decodeProxyAnswerResponse(body: Uint8Array | string): boolean {
  const message = decodeGoStruct(body, { Status: "string" });
  if (!message.Status) throw new MessageError("received invalid data");
  return message.Status === STATUS_SUCCESS;
}
