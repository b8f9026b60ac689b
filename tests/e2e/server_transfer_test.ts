/**
 * End to end (issue item 7): the real `server` subcommand, started as tor
 * starts it (TOR_PT_* environment, Extended ORPort with a cookie), a Turbo
 * Tunnel client assembled from lib/ over real WebSockets, and a stand-in
 * Extended ORPort that verifies our HMAC and records USERADDR and TRANSPORT.
 * 50 MB each way, checked by SHA-256.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startExtOrPortStandIn, writeAll } from "../pt/extorport_standin.ts";
import { openTurbotunnelClient } from "../server/turbotunnel_client.ts";
import { startServerProcess } from "./server_process.ts";

const SIZE = 50 * 1024 * 1024;
const BLOCK = 256 * 1024;

/** Deterministic pseudo-random block `i` (xorshift), so both ends can hash without storing 50 MB. */
function block(seed: number, i: number): Uint8Array {
  const out = new Uint32Array(BLOCK / 4);
  let x = (seed * 0x9e3779b9 + i * 0x85ebca6b + 1) >>> 0;
  for (let j = 0; j < out.length; j++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[j] = x;
  }
  return new Uint8Array(out.buffer);
}

function expectedHash(seed: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < SIZE / BLOCK; i++) hash.update(block(seed, i));
  return hash.digest("hex");
}

Deno.test("e2e server: 50 MB each way through ExtORPort, SHA-256 checked; USERADDR and TRANSPORT sent", async () => {
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  let upHash = "";
  const upDone = Promise.withResolvers<void>();
  const standIn = startExtOrPortStandIn({
    cookie,
    async onData(conn, reader) {
      const hash = createHash("sha256");
      const sending = (async () => {
        for (let i = 0; i < SIZE / BLOCK; i++) await writeAll(conn, block(2, i));
      })();
      let got = 0;
      while (got < SIZE) {
        const chunk = await reader.readSome();
        if (!chunk) break;
        hash.update(chunk);
        got += chunk.length;
      }
      upHash = hash.digest("hex");
      upDone.resolve();
      await sending;
    },
  });
  const server = await startServerProcess({ extOrPort: standIn.port, cookie });
  try {
    assert.ok(server.port > 0, server.ptLines.join("\n"));
    const client = await openTurbotunnelClient(`ws://127.0.0.1:${server.port}/?client_ip=192.0.2.7`);
    const writing = (async () => {
      for (let i = 0; i < SIZE / BLOCK; i++) await client.stream.write(block(1, i));
    })();
    const downHash = createHash("sha256");
    let got = 0;
    while (got < SIZE) {
      const chunk = await client.stream.read();
      assert.ok(chunk, `stream ended after ${got} bytes`);
      downHash.update(chunk);
      got += chunk.length;
    }
    await writing;
    await upDone.promise; // everything written has reached tor before the client closes
    assert.equal(got, SIZE);
    assert.equal(downHash.digest("hex"), expectedHash(2));
    await client.close();
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
  assert.equal(upHash, expectedHash(1));
  assert.deepEqual(standIn.sessions, [{
    clientHashOk: true,
    userAddr: "192.0.2.7:1",
    transport: "snowflake",
  }]);
  assert.doesNotMatch(server.log(), /192\.0\.2\.7/, "client IPs are scrubbed from the log");
});
