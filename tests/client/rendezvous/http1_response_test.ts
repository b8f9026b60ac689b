/** The HTTP/1.1 response reader: framings, splits, bounds, malformed shapes, a fuzz. */

import assert from "node:assert/strict";
import { Http1Error, Http1ResponseReader } from "../../../lib/client/rendezvous/http1_response.ts";

const enc = (text: string) => new TextEncoder().encode(text);

/** Feeds `text` in pieces of `step` bytes, then EOF if still incomplete. */
function read(text: string | Uint8Array, step = 1 << 30, limit = 100_000) {
  const bytes = typeof text === "string" ? enc(text) : text;
  const reader = new Http1ResponseReader(limit);
  for (let at = 0; at < bytes.length && !reader.response; at += step) {
    reader.handleInput(bytes.subarray(at, at + step));
  }
  if (!reader.response) reader.handleEof();
  return reader.response!;
}

Deno.test("HTTP/1.1 reader: Content-Length, chunked (with extensions and trailer), close-delimited, any split", () => {
  const cases: [string, string][] = [
    ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello"],
    [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\nX-T: 1\r\n\r\n",
      "hello",
    ],
    ["HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello", "hello"],
    ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello"],
  ];
  for (const [text, body] of cases) {
    for (const step of [1, 2, 7, 1000]) {
      const response = read(text, step);
      assert.equal(response.status, 200);
      assert.equal(new TextDecoder().decode(response.body), body, `${JSON.stringify(text)} step ${step}`);
    }
  }
  const headers = read(
    "HTTP/1.1 404 Not Found\r\nSet-Cookie: a\r\nset-cookie: b\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
  );
  assert.equal(headers.status, 404);
  assert.equal(headers.statusText, "Not Found");
  assert.equal(headers.headers.get("set-cookie"), "a, b");
  assert.equal(headers.headers.get("location"), "/x");
});

Deno.test("HTTP/1.1 reader: bodies over the limit fail early, by Content-Length, chunks or streaming", () => {
  const tooLarge = (error: unknown) => error instanceof Http1Error && error.tooLarge;
  assert.throws(() => read("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 1 << 30, 100), tooLarge);
  assert.throws(
    () => read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 1 << 30, 100),
    tooLarge,
  );
  assert.throws(() => read("HTTP/1.1 200 OK\r\n\r\n" + "x".repeat(101), 10, 100), tooLarge);
  assert.equal(read("HTTP/1.1 200 OK\r\n\r\n" + "x".repeat(100), 10, 100).body.length, 100);
  assert.throws(() => read("HTTP/1.1 200 OK\r\nX: " + "y".repeat(70_000)), tooLarge);
  // a head trickled one byte at a time is searched once, not once per byte
  const long = read("HTTP/1.1 200 OK\r\nX: " + "y".repeat(60_000) + "\r\nContent-Length: 2\r\n\r\nok", 1);
  assert.equal(long.headers.get("x")?.length, 60_000);
  assert.equal(new TextDecoder().decode(long.body), "ok");
});

Deno.test("HTTP/1.1 reader: each malformed shape is an Http1Error", () => {
  const bad = [
    "SSH-2.0-OpenSSH_9.2\r\n\r\n", // not HTTP
    "HTTP/2 200\r\n\r\n", // not 1.x
    "HTTP/1.1 20 OK\r\n\r\n", // two-digit status
    "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", // header without a colon
    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", // space in a name
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", // negative length
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", // EOF mid-body
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", // unsupported coding
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", // bad chunk size
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhelo\r\n", // chunk longer than its size
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe", // EOF mid-chunk
    "HTTP/1.1 200 OK\r\n", // EOF in the head
    "",
  ];
  for (const text of bad) assert.throws(() => read(text), Http1Error, JSON.stringify(text));
});

Deno.test("HTTP/1.1 reader fuzz: random bytes and mutated replies end in a response or an Http1Error", () => {
  let x = 9112;
  const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) >> 8;
  const valid = enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  for (let round = 0; round < 3000; round++) {
    let input: Uint8Array;
    if (round % 2) input = new Uint8Array(rand() % 80).map(() => rand());
    else {
      input = valid.slice();
      for (let f = 0; f < 1 + (rand() % 3); f++) input[rand() % input.length] = rand();
    }
    try {
      const response = read(input, 1 + (rand() % 9), 64);
      assert.ok(response.body.length <= 64);
    } catch (error) {
      if (!(error instanceof Http1Error)) throw error;
    }
  }
});
