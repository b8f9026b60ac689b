import assert from "node:assert/strict";
import { dialWebSocket, type WebSocketConn, webSocketConn } from "../../lib/websocket/websocket_conn.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";
import { RawWebSocket } from "./raw_client.ts";
import { sha256Hex } from "../support/digest.ts";

/** A WebSocket server on an ephemeral port that hands each server-side conn to `onConn`. */
function serve(onConn: (conn: WebSocketConn) => void, options: Parameters<typeof webSocketConn>[1] = {}) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    onConn(webSocketConn(socket, options));
    return response;
  });
  return { port: server.addr.port, shutdown: () => server.shutdown() };
}

Deno.test("webSocketConn: 8 MB each way through echo, exact bytes", async () => {
  const server = serve(async (conn) => {
    for (let chunk = await conn.read(); chunk; chunk = await conn.read()) await conn.write(chunk);
    conn.close();
  });
  const client = await dialWebSocket(`ws://127.0.0.1:${server.port}/`);
  const data = new Uint8Array(8 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const writer = (async () => {
    for (let offset = 0; offset < data.length; offset += 3000) {
      await client.write(data.slice(offset, offset + 3000));
    }
  })();
  const received = new Uint8Array(data.length);
  let got = 0;
  while (got < data.length) {
    const chunk = await client.read();
    assert.ok(chunk, "early EOF");
    received.set(chunk, got);
    got += chunk.length;
  }
  await writer;
  assert.equal(await sha256Hex(received), await sha256Hex(data));
  assert.equal(client.bytesWritten, data.length);
  client.close();
  await client.closed;
  assert.equal(await client.read(), null);
  await assert.rejects(client.write(new Uint8Array(1)), ConnClosedError);
  await server.shutdown();
});

Deno.test("webSocketConn: text and binary messages make one byte stream", async () => {
  let serverConn!: WebSocketConn;
  const ready = Promise.withResolvers<void>();
  const server = serve((conn) => {
    serverConn = conn;
    ready.resolve();
  });
  const raw = await RawWebSocket.connect(server.port);
  await ready.promise;
  await raw.send(new TextEncoder().encode("ab"), 1);
  await raw.send(new Uint8Array([0x63, 0x64]), 2);
  let text = "";
  while (text.length < 4) text += new TextDecoder().decode((await serverConn.read())!);
  assert.equal(text, "abcd");
  raw.close();
  assert.equal(await serverConn.read(), null);
  await serverConn.closed;
  await server.shutdown();
});

Deno.test("webSocketConn: a peer that stops reading stalls writes, then the conn closes with a reason", async () => {
  let serverConn!: WebSocketConn;
  const ready = Promise.withResolvers<void>();
  const server = serve((conn) => {
    serverConn = conn;
    ready.resolve();
  }, { highWaterBytes: 64 * 1024, writeStallMs: 300 });
  const raw = await RawWebSocket.connect(server.port); // never reads
  await ready.promise;
  let written = 0;
  await assert.rejects(async () => {
    for (;;) {
      await serverConn.write(new Uint8Array(16 * 1024));
      written += 16 * 1024;
      assert.ok(written < 1024 * 1024 * 1024, "writes never blocked");
    }
  }, ConnClosedError);
  assert.match(serverConn.closeReason, /^write stalled for 300 ms$/);
  raw.close();
  await serverConn.closed;
  await server.shutdown();
});

Deno.test("webSocketConn: unread input past the bound closes the conn; what was queued stays readable", async () => {
  let serverConn!: WebSocketConn;
  const ready = Promise.withResolvers<void>();
  const server = serve((conn) => {
    serverConn = conn;
    ready.resolve();
  }, { maxReadBufferBytes: 100_000 });
  const raw = await RawWebSocket.connect(server.port);
  await ready.promise;
  const reading = raw.readToEnd();
  for (let i = 0; i < 20; i++) await raw.send(new Uint8Array(10_000).fill(i)).catch(() => {});
  await serverConn.closed;
  assert.equal(serverConn.closeReason, "read buffer overflow");
  let total = 0;
  for (let chunk = await serverConn.read(); chunk; chunk = await serverConn.read()) total += chunk.length;
  assert.ok(total > 100_000 && total <= 110_000, `read ${total}`);
  raw.close();
  await reading;
  await server.shutdown();
});

Deno.test("dialWebSocket: refused connection rejects", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(dialWebSocket(`ws://127.0.0.1:${port}/`, { timeoutMs: 5000 }));
});
