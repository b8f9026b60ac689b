/**
 * The server's half of the WebSocket opening handshake (RFC 6455 §4.2) over
 * HTTP/1.1 (RFC 9112), sans-I/O: {@link RequestHeadReader} gathers the
 * request line and headers from bytes as they arrive (bounded), and the
 * functions below check the request as gorilla/websocket does (the library
 * of Go's snowflake-server, so the same requests are refused with the same
 * status) and build the responses. Origin is not checked; no subprotocol or
 * extension is offered (SNOWFLAKE-PROTOCOL.md §8.3).
 */

import { createHash } from "node:crypto";

/** RFC 6455 §1.3: appended to Sec-WebSocket-Key before hashing. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Longest request head read (ours; browsers' and Go proxies' are under 1 KiB). Longer → 431. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

/** A request line and its headers. */
export interface RequestHead {
  method: string;
  /** The request target: path and query, e.g. `/?client_ip=1.2.3.4`. */
  target: string;
  version: string;
  headers: Headers;
}

/** A request that cannot be served; `status` is the HTTP answer. */
export class HttpRequestError extends Error {
  override name = "HttpRequestError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Gathers a request head; `push` returns it and the bytes after it once the blank line is in. */
export class RequestHeadReader {
  #buffer = new Uint8Array(0);
  #scanned = 0;
  constructor(readonly maxBytes = MAX_REQUEST_HEAD_BYTES) {}

  /** Bytes held so far. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /** Adds bytes; the head and what followed it, or null while incomplete. Throws {@link HttpRequestError}. */
  push(bytes: Uint8Array): { head: RequestHead; rest: Uint8Array } | null {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer, 0);
    joined.set(bytes, this.#buffer.length);
    this.#buffer = joined;
    // The head ends at the first empty line: \r\n\r\n, or \n\n (bare LF, which Go also accepts).
    for (let i = Math.max(0, this.#scanned - 3); i < joined.length; i++) {
      if (joined[i] !== 0x0a) continue;
      const end = joined[i + 1] === 0x0a
        ? i + 2
        : (joined[i + 1] === 0x0d && joined[i + 2] === 0x0a ? i + 3 : -1);
      if (end < 0) continue;
      if (end > this.maxBytes) break;
      return { head: parseRequestHead(joined.subarray(0, end)), rest: joined.slice(end) };
    }
    this.#scanned = joined.length;
    if (joined.length > this.maxBytes) {
      throw new HttpRequestError(431, `request head over ${this.maxBytes} bytes`);
    }
    return null;
  }
}

/** Parses a complete request head (ending in its empty line). Throws {@link HttpRequestError} (400). */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  // latin1 keeps every byte as one char; header values are checked for control characters below.
  const lines = new TextDecoder("latin1").decode(bytes).split("\n").map((line) =>
    line.endsWith("\r") ? line.slice(0, -1) : line
  );
  const requestLine = lines[0].split(" ");
  if (requestLine.length !== 3) throw new HttpRequestError(400, "malformed request line");
  const [method, target, version] = requestLine;
  if (!TOKEN.test(method)) throw new HttpRequestError(400, "malformed method");
  if (!/^HTTP\/1\.[01]$/.test(version)) throw new HttpRequestError(400, `unsupported protocol ${version}`);
  if (!target.startsWith("/") || hasControlChar(target, false)) {
    throw new HttpRequestError(400, "malformed target");
  }
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpRequestError(400, "malformed header line");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpRequestError(400, "malformed header name");
    const value = line.slice(colon + 1).trim();
    if (hasControlChar(value, true)) {
      throw new HttpRequestError(400, "control character in a header");
    }
    try {
      headers.append(name, value);
    } catch {
      throw new HttpRequestError(400, "malformed header value");
    }
  }
  if (version === "HTTP/1.1" && !headers.has("host")) throw new HttpRequestError(400, "missing Host header");
  return { method, target, version, headers };
}

/** Whether `text` holds a control character (or a space, a tab is fine in header values). */
function hasControlChar(text: string, inValue: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7f || (c < 0x20 && !(inValue && c === 0x09)) || (c === 0x20 && !inValue)) return true;
  }
  return false;
}

function headerHasToken(headers: Headers, name: string, token: string): boolean {
  return (headers.get(name) ?? "").toLowerCase().split(",").some((part) => part.trim() === token);
}

/** Why `head` is not a WebSocket upgrade, as gorilla/websocket answers it (status, reason); null if it is one. */
export function upgradeProblem(head: Pick<RequestHead, "method" | "headers">): [number, string] | null {
  const { headers } = head;
  if (!headerHasToken(headers, "connection", "upgrade")) {
    return [400, "'upgrade' token not found in 'Connection' header"];
  }
  if (!headerHasToken(headers, "upgrade", "websocket")) {
    return [400, "'websocket' token not found in 'Upgrade' header"];
  }
  if (head.method !== "GET") return [405, "request method is not GET"];
  if (!headerHasToken(headers, "sec-websocket-version", "13")) {
    return [400, "unsupported version: 13 not found in 'Sec-Websocket-Version' header"];
  }
  if (!headers.get("sec-websocket-key")) return [400, "'Sec-WebSocket-Key' header is missing or blank"];
  return null;
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2): base64(SHA-1(key ‖ GUID)). */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

const encoder = new TextEncoder();

/** The 101 answer, byte for byte as gorilla/websocket writes it. */
export function switchingProtocolsResponse(key: string): Uint8Array {
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/**
 * An error answer as Go's `http.Error` writes it after gorilla refuses an
 * upgrade (text/plain body: the status text and a newline; `Sec-Websocket-Version: 13`
 * for refused upgrades), with `Connection: close`: we close after answering.
 */
export function errorResponse(
  status: number,
  now: Date,
  options: { websocketVersion?: boolean } = {},
): Uint8Array {
  const text = STATUS_TEXT[status] ?? "Error";
  const body = `${text}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    "Connection: close",
    "Content-Type: text/plain; charset=utf-8",
    ...(options.websocketVersion ? ["Sec-Websocket-Version: 13"] : []),
    "X-Content-Type-Options: nosniff",
    `Date: ${now.toUTCString()}`,
    `Content-Length: ${body.length}`,
  ];
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n" + body);
}
