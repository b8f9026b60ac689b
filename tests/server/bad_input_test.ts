/**
 * Bad input to an in-process server (issue item 6): each ends that one
 * connection with a logged reason, and the server goes on serving.
 */

import assert from "node:assert/strict";
import { concat } from "../../lib/util/bytes.ts";
import { TOKEN } from "../../lib/turbotunnel/consts.ts";
import { ClientId } from "../../lib/turbotunnel/client_id.ts";
import { RawWebSocket } from "../websocket/raw_client.ts";
import { openTurbotunnelClient } from "./turbotunnel_client.ts";
import { startTestServer } from "./harness.ts";
import type { CarrierClosedDetail } from "../../lib/server/operations/events.ts";
import { type ConnReader, writeAll } from "../pt/extorport_standin.ts";

/** A stand-in data handler that echoes. */
async function echo(conn: Deno.Conn, reader: ConnReader): Promise<void> {
  for (let chunk = await reader.readSome(); chunk; chunk = await reader.readSome()) {
    await writeAll(conn, chunk);
  }
}

/** Checks the server still serves a Turbo Tunnel client end to end (echo through the stand-in). */
async function assertStillServes(url: string): Promise<void> {
  const client = await openTurbotunnelClient(url);
  const message = new TextEncoder().encode("still working");
  await client.stream.write(message);
  let got: Uint8Array = new Uint8Array(0);
  while (got.length < message.length) {
    const chunk = await client.stream.read();
    assert.ok(chunk, "stream ended");
    got = concat([got, chunk]);
  }
  assert.equal(new TextDecoder().decode(got), "still working");
  await client.close();
}

const preamble = (clientId = ClientId.random()) => concat([TOKEN, clientId.bytes]);

Deno.test("bad input: garbage instead of the token, with legacy mode off, is refused and logged", async () => {
  const t = await startTestServer({ onData: echo }, { legacy: false });
  try {
    const raw = await RawWebSocket.connect(t.server.port);
    await raw.send(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    await raw.readToEnd(); // the server closes
    raw.close();
    await t.waitForEvent("carrierclosed", (d) => d.reason === "legacy-refused" && d.mode === "none");
    assert.ok(
      t.lines.some((l) => /received unsupported oneshot connection \(legacy mode is disabled\)/.test(l)),
    );
    assert.equal((await t.server.stats()).carrier.refused, 1);
    assert.equal(t.standIn.sessions.length, 0, "nothing reached tor");
    await assertStillServes(t.url);
  } finally {
    await t.close();
  }
});

Deno.test("bad input: invalid and oversized encapsulation end the WebSocket with the reason", async () => {
  const t = await startTestServer({ onData: echo });
  try {
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array([0xc0, 0x80, 0x80, 0x80]), /invalid encapsulation \(too-long\)/], // a 4-byte length prefix
      [new Uint8Array([0xcf, 0x50]), /invalid encapsulation \(over-limit\)/], // a 2000-byte packet: KCP's are ≤ 1400
    ];
    for (const [bytes, pattern] of cases) {
      const raw = await RawWebSocket.connect(t.server.port);
      await raw.send(concat([preamble(), bytes]));
      await raw.readToEnd();
      raw.close();
      await t.waitForEvent("carrierclosed", (d) => d.reason === "encapsulation" && pattern.test(d.detail));
    }
    assert.equal((await t.server.stats()).carrier.connectionsOpen, 0);
    await assertStillServes(t.url);
  } finally {
    await t.close();
  }
});

Deno.test("bad input: a WebSocket that never finishes its preamble, or goes idle, is closed", async () => {
  const t = await startTestServer({ onData: echo }, {
    preambleTimeoutMs: 200,
    idleTimeoutMs: 300,
    sweepIntervalMs: 50,
  });
  try {
    const slow = await RawWebSocket.connect(t.server.port);
    await slow.send(TOKEN.subarray(0, 3)); // 3 of 16 bytes, then nothing
    const idle = await RawWebSocket.connect(t.server.port);
    await idle.send(preamble()); // a whole preamble, then nothing
    await Promise.all([slow.readToEnd(), idle.readToEnd()]);
    slow.close();
    idle.close();
    await t.waitForEvent("carrierclosed", (d) => d.reason === "no-preamble" && d.mode === "none");
    await t.waitForEvent("carrierclosed", (d) => d.reason === "idle" && d.mode === "turbotunnel");
    assert.ok(t.lines.some((l) => /closed Turbo Tunnel WebSocket: idle for 0\.3 s/.test(l)));
    await assertStillServes(t.url);
  } finally {
    await t.close();
  }
});

Deno.test("bad input: a flood of ClientIDs stays within the connection and session limits", async () => {
  const t = await startTestServer({ onData: echo }, { maxConnections: 40, maxSessions: 10 });
  try {
    const raws: RawWebSocket[] = [];
    let refusedUpgrades = 0;
    for (let i = 0; i < 60; i++) {
      try {
        const raw = await RawWebSocket.connect(t.server.port);
        raws.push(raw);
        // a KCP packet that would open a conversation: conv, cmd PUSH (81), sn 0, then 24-byte header
        const kcp = new Uint8Array(24);
        new DataView(kcp.buffer).setUint32(0, i + 1, true);
        kcp[4] = 81;
        await raw.send(concat([preamble(), new Uint8Array([0x98]), kcp]));
      } catch (error) {
        assert.match(String(error), /upgrade refused: HTTP\/1.1 503/);
        refusedUpgrades++;
      }
    }
    assert.equal(refusedUpgrades, 20);
    const refusal = await t.waitForEvent("upgradefailed", (d) => d.reason === "connection-limit");
    assert.equal(refusal.status, 503);
    const snapshot = await t.server.stats();
    assert.ok(snapshot.tunnel.sessionsOpen <= 10, `sessions open: ${snapshot.tunnel.sessionsOpen}`);
    assert.ok(snapshot.tunnel.sessionsRefused > 0);
    for (const raw of raws) raw.close();
  } finally {
    await t.close();
  }
});

Deno.test("bad input: ExtORPort authentication failure closes that stream with a reason; others go on", async () => {
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  const options = { cookie, badServerHash: true, onData: echo };
  const t = await startTestServer(options);
  try {
    const client = await openTurbotunnelClient(t.url);
    await client.stream.write(new TextEncoder().encode("hello"));
    assert.equal(await client.stream.read(), null, "the stream is closed");
    await client.close();
    const failed = await t.waitForEvent("streamfailed");
    assert.match(failed.detail, /mismatch in server hash/);
    assert.equal((await t.server.stats()).tunnel.torFailures, 1);
    options.badServerHash = false;
    await assertStillServes(t.url);
    assert.deepEqual(t.standIn.sessions.map((s) => s.clientHashOk), [false, true]);
  } finally {
    await t.close();
  }
});

Deno.test("bad input: a WebSocket that stops reading is closed after the write stall; the session carries on", async () => {
  // The stand-in sends until the client closes; the client reads until the stall has been logged (the kernel's
  // socket buffers absorb a few MB first, so how much that takes varies), at most 256 MB.
  const t = await startTestServer({
    async onData(conn, reader) {
      await reader.readExact(1);
      const block = new Uint8Array(65536).fill(7);
      for (;;) await writeAll(conn, block);
    },
  }, { websocket: { writeStallMs: 300 }, sweepIntervalMs: 50 });
  try {
    const client = await openTurbotunnelClient(t.url);
    // A second WebSocket for the same ClientID that never reads: it takes a share of the packets, then stalls.
    const zombie = await RawWebSocket.connect(t.server.port);
    await zombie.send(preamble(client.clientId));
    await client.stream.write(new Uint8Array([1]));
    let received = 0;
    const stalled = () =>
      t.events.some((e) =>
        e.type === "carrierclosed" && (e.detail as CarrierClosedDetail).reason === "write-stall"
      );
    while (!stalled()) {
      assert.ok(received < 256 * 1024 * 1024, "no write stall after 256 MB");
      const chunk = await client.stream.read();
      assert.ok(chunk, `stream ended after ${received} bytes`);
      assert.ok(chunk.every((b) => b === 7));
      received += chunk.length;
    }
    // The session goes on over the live WebSocket after the stalled one is gone.
    for (const target = received + 1024 * 1024; received < target;) {
      const chunk = await client.stream.read();
      assert.ok(chunk, `stream ended after ${received} bytes`);
      received += chunk.length;
    }
    zombie.close();
    await client.close();
  } finally {
    await t.close();
  }
});
