/** KcpSession and KcpListener over in-memory packet links: whole streams, back-pressure, bounds, close. */
import assert from "node:assert/strict";
import { KcpListener } from "../../lib/kcp/listener.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { receiveMemoryBound } from "../../lib/kcp/receive_buffer.ts";
import { KcpSession, randomConv } from "../../lib/kcp/session.ts";
import { memoryPacketPair } from "../support/memory.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";
import { Prng } from "../util/netem.ts";
import { packetOf, RecordingPacketConn, sha256 } from "./helpers.ts";
import { readBytes, writeInPieces } from "../support/byte_io.ts";

/** Pieces up to 2000 or 70 000 bytes: several KCP segments, and more than one window. */
const KCP_PIECES = { small: 2000, large: 70_000 };

/** Resolves once `condition()` holds, checking every few ms; fails after `limitMs`. */
async function until(condition: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const end = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function pair(capacity = 4096) {
  const [clientConn, serverConn] = memoryPacketPair(capacity, ["client", "server"]);
  const listener = new KcpListener(serverConn, { ownConn: true });
  const client = KcpSession.dial(clientConn, "server", { ownConn: true });
  await client.write(new Uint8Array([0])); // the first packet makes the server session
  const server = (await listener.accept())!;
  assert.deepEqual(await server.read(), new Uint8Array([0]));
  return { client, server, listener };
}

Deno.test("KcpSession ⇄ KcpListener over memoryPacketPair: 4 MB each way at once, sha256-exact", async () => {
  const { client, server, listener } = await pair();
  assert.equal(server.conv, client.conv);
  const random = new Prng(11);
  const up = random.bytes(4_000_000);
  const down = random.bytes(4_000_000);
  const [gotUp, gotDown] = await Promise.all([
    readBytes(server, up.length),
    readBytes(client, down.length),
    writeInPieces(client, up, 1, KCP_PIECES),
    writeInPieces(server, down, 2, KCP_PIECES),
  ]);
  assert.equal(await sha256(gotUp), await sha256(up));
  assert.equal(await sha256(gotDown), await sha256(down));
  client.close();
  listener.close();
  await Promise.all([client.closed, server.closed]);
});

Deno.test("KcpSession over a small, dropping packet queue still delivers exactly (retransmissions)", async () => {
  const { client, server, listener } = await pair(128);
  const data = new Prng(3).bytes(300_000);
  const [got] = await Promise.all([
    readBytes(server, data.length),
    writeInPieces(client, data, 3, KCP_PIECES),
  ]);
  assert.equal(await sha256(got), await sha256(data));
  client.close();
  listener.close();
});

Deno.test("KcpSession: a peer that stops reading holds the writer back; both sides stay within their budgets", async () => {
  const [clientConn, serverConn] = memoryPacketPair(100_000, ["client", "server"]);
  const budget = 256 * 1024;
  const listener = new KcpListener(serverConn, { ownConn: true, maxRecvBytes: budget });
  const client = KcpSession.dial(clientConn, "server", { ownConn: true, maxSendBytes: budget });
  const chunk = new Uint8Array(64 * 1024);
  let written = 0;
  const writer = (async () => {
    try {
      for (;;) {
        await client.write(chunk);
        written += chunk.length;
      }
    } catch (error) {
      assert.ok(error instanceof ConnClosedError);
    }
  })();
  const server = (await listener.accept())!;
  await until(() => client.arq.rmtWnd === 0, "the server's window to close");
  const stalledAt = written;
  await until(() => client.arq.sendBytes > 0 && written === stalledAt, "the writer to stall");
  assert.ok(written <= 2 * budget + chunk.length, `accepted ${written} bytes`);
  assert.ok(client.arq.sendBytes <= budget + chunk.length);
  assert.ok(server.arq.receiveBytes <= receiveMemoryBound(budget, 1376));
  // reading resumes the flow (unsolicited WINS on the window reopening)
  const got = await readBytes(server, stalledAt + 3 * chunk.length);
  assert.ok(got.length >= stalledAt + 3 * chunk.length);
  client.close();
  listener.close();
  await writer;
});

Deno.test("KcpSession: close rejects writes, ends reads, keeps what was already received readable", async () => {
  const { client, server, listener } = await pair();
  await server.write(new TextEncoder().encode("last words"));
  await until(() => client.arq.readableBytes > 0, "data at the client");
  client.close();
  assert.equal(new TextDecoder().decode((await client.read())!), "last words");
  assert.equal(await client.read(), null);
  await assert.rejects(client.write(new Uint8Array(1)), ConnClosedError);
  client.close();
  listener.close();
});

Deno.test("KcpSession.dial: garbage and packets from another source are dropped and counted", async () => {
  const [clientConn, serverConn] = memoryPacketPair(16, ["client", "server"]);
  const client = KcpSession.dial(clientConn, "server", { conv: 0x0badcafe });
  serverConn.writeTo(packetOf({ conv: 0x0badcafe, sn: 0, data: new Uint8Array([1, 2]) }), "client");
  assert.deepEqual(await client.read(), new Uint8Array([1, 2]));
  serverConn.writeTo(new Uint8Array(30).fill(0xee), "client");
  await until(() => client.stats.inputErrors === 1, "the garbage to be counted");
  assert.equal(client.stats.lastError?.code, "conv-mismatch");
  client.close();
  clientConn.close();
  serverConn.close();
  assert.equal(client.stats.packetsIn, 2);
});

Deno.test("randomConv: 32-bit values that differ", () => {
  const convs = new Set(Array.from({ length: 100 }, randomConv));
  assert.ok(convs.size > 95);
  for (const conv of convs) assert.ok(Number.isInteger(conv) && conv >= 0 && conv < 2 ** 32);
});

Deno.test("KcpSession in message mode: each write is cut into mss-sized messages, one per read (kcp-go)", async () => {
  const [clientConn, serverConn] = memoryPacketPair(64, ["client", "server"]);
  const kcp = { ...SNOWFLAKE_KCP_OPTIONS, streamMode: false };
  const listener = new KcpListener(serverConn, { kcp, ownConn: true });
  const client = KcpSession.dial(clientConn, "server", { kcp, ownConn: true });
  const data = new Prng(4).bytes(3000);
  await client.write(data);
  const server = (await listener.accept())!;
  const sizes = [];
  for (let got = 0; got < data.length;) {
    const chunk = (await server.read())!;
    assert.deepEqual(chunk, data.subarray(got, got + chunk.length));
    sizes.push(chunk.length);
    got += chunk.length;
  }
  assert.deepEqual(sizes, [1376, 1376, 248]);
  client.close();
  listener.close();
});

Deno.test("KcpSession: a send that fails closes the session; a dialed session closes when its conn ends", async () => {
  const conn = new RecordingPacketConn();
  const session = new KcpSession(conn, "peer", 1);
  conn.closed = true; // writeTo now throws ConnClosedError
  await session.write(new Uint8Array(10));
  await session.closed;
  await assert.rejects(session.write(new Uint8Array(1)), ConnClosedError);

  const [a, b] = memoryPacketPair(16);
  const dialed = KcpSession.dial(a, "b");
  const reading = dialed.read();
  a.close();
  assert.equal(await reading, null);
  await dialed.closed;
  b.close();
});
