import assert from "node:assert/strict";
import {
  acceptKey,
  errorResponse,
  HttpRequestError,
  RequestHeadReader,
  switchingProtocolsResponse,
  upgradeProblem,
} from "../../lib/websocket/handshake.ts";

const encode = (s: string) => new TextEncoder().encode(s);
const REQUEST = "GET /?client_ip=192.0.2.3 HTTP/1.1\r\nHost: bridge.example\r\nUpgrade: websocket\r\n" +
  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

Deno.test("handshake: the accept key of RFC 6455 §1.3 and gorilla's 101 response", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.equal(
    new TextDecoder().decode(switchingProtocolsResponse("dGhlIHNhbXBsZSBub25jZQ==")),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
  );
});

Deno.test("RequestHeadReader: a request one byte at a time, the bytes after it kept", () => {
  const reader = new RequestHeadReader();
  const bytes = new Uint8Array([...encode(REQUEST), 0x82, 0x80]);
  let result = null;
  for (let i = 0; i < bytes.length && !result; i++) result = reader.push(bytes.subarray(i, i + 1));
  assert.ok(result);
  assert.equal(result.head.method, "GET");
  assert.equal(result.head.target, "/?client_ip=192.0.2.3");
  assert.equal(result.head.headers.get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  assert.deepEqual(result.rest, new Uint8Array(0)); // the frame bytes came after the head was complete
  const whole = new RequestHeadReader().push(bytes)!;
  assert.deepEqual(whole.rest, new Uint8Array([0x82, 0x80]));
  assert.equal(upgradeProblem(whole.head), null);
  // Bare LF line ends, as Go accepts them.
  assert.ok(new RequestHeadReader().push(encode(REQUEST.replaceAll("\r\n", "\n"))));
});

Deno.test("RequestHeadReader: over the limit is 431; malformed heads are 400", () => {
  const reader = new RequestHeadReader(1024);
  assert.equal(reader.push(encode("GET / HTTP/1.1\r\nHost: x\r\n")), null);
  assert.throws(
    () => reader.push(encode(`X-Long: ${"a".repeat(1100)}\r\n`)),
    (e) => e instanceof HttpRequestError && e.status === 431,
  );
  const malformed = [
    "GET /\r\n\r\n", // no version
    "GET / HTTP/2.0\r\nHost: x\r\n\r\n", // not HTTP/1.x
    "GET x HTTP/1.1\r\nHost: x\r\n\r\n", // not a path
    "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", // not a token
    "GET / HTTP/1.1\r\nHost x\r\n\r\n", // no colon
    "GET / HTTP/1.1\r\nHo st: x\r\n\r\n", // space in the name
    "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", // HTTP/1.1 without Host
  ];
  for (const text of malformed) {
    assert.throws(
      () => new RequestHeadReader().push(encode(text)),
      (e) => e instanceof HttpRequestError && e.status === 400,
      text,
    );
  }
});

Deno.test("upgradeProblem: gorilla/websocket's checks, in its order", () => {
  const head = (method: string, headers: Record<string, string>) => ({
    method,
    headers: new Headers(headers),
  });
  const ok = {
    connection: "keep-alive, Upgrade",
    upgrade: "websocket",
    "sec-websocket-version": "13",
    "sec-websocket-key": "k",
  };
  assert.equal(upgradeProblem(head("GET", ok)), null);
  assert.equal(upgradeProblem(head("POST", {}))?.[0], 400); // Connection is checked before the method
  assert.equal(upgradeProblem(head("POST", ok))?.[0], 405);
  assert.equal(upgradeProblem(head("GET", { ...ok, upgrade: "h2c" }))?.[0], 400);
  assert.equal(upgradeProblem(head("GET", { ...ok, "sec-websocket-version": "8" }))?.[0], 400);
  assert.equal(upgradeProblem(head("GET", { ...ok, "sec-websocket-key": "" }))?.[0], 400);
});

Deno.test("errorResponse: Go's http.Error text, with the WebSocket version header for refused upgrades", () => {
  const text = new TextDecoder().decode(errorResponse(400, new Date(0), { websocketVersion: true }));
  assert.equal(
    text,
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Sec-Websocket-Version: 13\r\nX-Content-Type-Options: nosniff\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n" +
      "Content-Length: 12\r\n\r\nBad Request\n",
  );
});
