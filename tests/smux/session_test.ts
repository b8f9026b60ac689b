/** SmuxSession and SmuxStream over in-memory byte connections: exact byte streams, close semantics, failures. */

import assert from "node:assert/strict";
import { memoryByteConnPair } from "../support/memory.ts";
import type { ByteConn } from "../../lib/net/byte_conn.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import type { SmuxStream } from "../../lib/smux/stream.ts";
import { SmuxError } from "../../lib/smux/error.ts";
import { SmuxCmd } from "../../lib/smux/frame.ts";
import { Logger } from "../../lib/util/log.ts";
import { concat } from "../../lib/util/bytes.ts";
import { frameBytes, prng, randomBytes, sha256Hex } from "./helpers.ts";
import type { SmuxConfig } from "../../lib/smux/config.ts";

/** Small buffers so that UPDs, window waits and the receive bucket all come into play. */
const TIGHT: Partial<SmuxConfig> = {
  keepAliveDisabled: true,
  maxFrameSize: 4096,
  maxStreamBuffer: 65536,
  maxReceiveBuffer: 196608,
};

function sessionPair(config: Partial<SmuxConfig> = TIGHT, window = 65536): [SmuxSession, SmuxSession] {
  const [a, b] = memoryByteConnPair(window);
  return [SmuxSession.client(a, config), SmuxSession.server(b, config)];
}

/** Writes `data` in random-sized pieces. */
async function writeInPieces(conn: ByteConn, data: Uint8Array, random: () => number): Promise<void> {
  for (let at = 0; at < data.length;) {
    const n = Math.min(data.length - at, 1 + ((random() * 100_000) | 0));
    await conn.write(data.slice(at, at + n));
    at += n;
  }
}

async function readToEnd(conn: ByteConn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let chunk = await conn.read(); chunk !== null; chunk = await conn.read()) chunks.push(chunk);
  return concat(chunks);
}

async function readExactly(conn: ByteConn, n: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const chunk = await conn.read();
    assert.ok(chunk !== null, `EOF after ${got} of ${n} bytes`);
    chunks.push(chunk);
    got += chunk.length;
  }
  assert.equal(got, n, "no bytes beyond what was sent");
  return concat(chunks);
}

Deno.test("smux sessions: several streams each way move exact byte streams (sha256) over a memory pair", async () => {
  const [client, server] = sessionPair();
  const random = prng(2024);
  const oneWay = [1, 2, 3, 4].map((i) => randomBytes(random, 200_000 * i + i));
  const twoWay = [randomBytes(random, 700_001), randomBytes(random, 300_003)];

  // Client → server, one way each, ended by FIN (the client's close).
  const clientSide = oneWay.map(async (data, i) => {
    const stream = await client.openStream();
    assert.equal(stream.id, 3 + 2 * i);
    await writeInPieces(stream, data, prng(i));
    stream.close();
  });
  const serverSide = (async () => {
    const received = new Map<number, Promise<string>>();
    for (let i = 0; i < oneWay.length; i++) {
      const stream = (await server.acceptStream())!;
      received.set(stream.id, readToEnd(stream).then((bytes) => (stream.close(), sha256Hex(bytes))));
    }
    return received;
  })();
  // Server-opened streams, both directions at once, lengths known to both sides.
  const exchange = async (mine: SmuxStream, send: Uint8Array, expect: Uint8Array) => {
    const [, got] = await Promise.all([
      writeInPieces(mine, send, prng(send.length)),
      readExactly(mine, expect.length),
    ]);
    assert.equal(await sha256Hex(got), await sha256Hex(expect));
  };
  const serverOpened = await server.openStream();
  assert.equal(serverOpened.id, 2);
  await serverOpened.write(new Uint8Array([1])); // SYN reaches the client; the byte says hello
  const clientAccepted = (await client.acceptStream())!;
  assert.deepEqual(await readExactly(clientAccepted, 1), new Uint8Array([1]));
  await Promise.all([
    exchange(serverOpened, twoWay[0], twoWay[1]),
    exchange(clientAccepted, twoWay[1], twoWay[0]),
    ...clientSide,
  ]);
  const received = await serverSide;
  for (const [i, data] of oneWay.entries()) {
    assert.equal(await received.get(3 + 2 * i), await sha256Hex(data), `stream ${3 + 2 * i}`);
  }
  serverOpened.close();
  clientAccepted.close();
  client.close();
  server.close();
  await Promise.all([client.closed, server.closed]);
  assert.equal(client.error, null);
  assert.equal(server.error, null);
});

/** A ByteConn that counts the bytes written through it. */
function countWrites(conn: ByteConn): ByteConn & { bytesWritten: number } {
  const counted = {
    bytesWritten: 0,
    read: () => conn.read(),
    write: (data: Uint8Array) => {
      counted.bytesWritten += data.length;
      return conn.write(data);
    },
    close: () => conn.close(),
  };
  return counted;
}

/** Lets the event loop run `turns` macrotask turns (no clock involved), stopping early once `done()`. */
async function runTurns(turns: number, done: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("smux sessions: a receiver that reads late stalls the writers (bucket and window), then they resume and lose nothing", async () => {
  const PIPE_WINDOW = 8192;
  const [left, right] = memoryByteConnPair(PIPE_WINDOW);
  const wire = countWrites(left);
  const client = SmuxSession.client(wire, TIGHT);
  const server = SmuxSession.server(right, TIGHT);
  const random = prng(5);
  // 6 × 150 KB = 900 KB, far over the server's receive bucket (192 KiB).
  const data = [0, 1, 2, 3, 4, 5].map(() => randomBytes(random, 150_000));
  let written = 0;
  const writers = data.map(async (bytes) => {
    const stream = await client.openStream();
    await stream.write(bytes);
    written++;
    stream.close();
  });
  const accepted: SmuxStream[] = [];
  for (let i = 0; i < data.length; i++) accepted.push((await server.acceptStream())!);

  // Writes really flow: the wire carries at least a whole receive bucket of payload ...
  const bucket = TIGHT.maxReceiveBuffer!;
  await runTurns(10_000, () => wire.bytesWritten >= bucket);
  assert.ok(wire.bytesWritten >= bucket, `only ${wire.bytesWritten} bytes reached the wire`);
  // ... and then stop: nobody reads, so no more than the bucket, the pipe and a few frames in flight pass.
  await runTurns(200);
  const frame = TIGHT.maxFrameSize! + 8;
  const headers = Math.ceil(bucket / TIGHT.maxFrameSize!) * 8;
  assert.ok(
    wire.bytesWritten <= bucket + headers + PIPE_WINDOW + 4 * frame,
    `${wire.bytesWritten} bytes passed while nobody reads`,
  );
  // Each stream may send 256 KiB before its first UPD (Go's initial peer window), so only the bucket holds
  // them back: what passed has room for one whole 150 KB write at most; the other five stay blocked.
  assert.ok(written <= Math.floor(wire.bytesWritten / 150_000), `${written} writes finished`);
  assert.ok(written <= 1, `${written} writes finished while nobody reads`);

  // Reading resumes every writer, and every byte arrives.
  const got = await Promise.all(accepted.map(readToEnd));
  await Promise.all(writers);
  assert.equal(written, data.length);
  assert.ok(wire.bytesWritten >= data.length * 150_000);
  for (const [i, bytes] of data.entries()) assert.equal(await sha256Hex(got[i]), await sha256Hex(bytes));
  for (const stream of accepted) stream.close();
  client.close();
  server.close();
});

Deno.test("smux streams: FIN ends the peer's reads; close is a full close; writes after it fail", async () => {
  const [client, server] = sessionPair();
  const stream = await client.openStream();
  await stream.write(new TextEncoder().encode("hello"));
  stream.close();
  stream.close(); // idempotent
  assert.equal(await stream.read(), null);
  await assert.rejects(stream.write(new Uint8Array(1)), ConnClosedError);

  const peer = (await server.acceptStream())!;
  assert.equal(new TextDecoder().decode((await peer.read())!), "hello");
  assert.equal(await peer.read(), null);
  assert.equal(await peer.read(), null);
  await peer.write(new Uint8Array(10)); // after the peer's FIN, writes still go while the window lasts
  await assert.rejects(
    peer.write(new Uint8Array(300_000)),
    (e) => e instanceof SmuxError && e.code === "peer-closed",
  );
  peer.close();
  client.close();
  server.close();
});

Deno.test("smux session close: pending accept and reads end, open fails, an earlier FIN still reaches the peer", async () => {
  const [client, server] = sessionPair();
  const stream = await client.openStream();
  const other = await client.openStream();
  const peer = (await server.acceptStream())!;
  const pendingAccept = client.acceptStream();
  const pendingRead = other.read();
  stream.close(); // FIN queued ...
  client.close(); // ... and sent before the conn closes
  assert.equal(await peer.read(), null, "the FIN arrived");
  assert.equal(await pendingAccept, null);
  assert.equal(await pendingRead, null);
  await assert.rejects(client.openStream(), ConnClosedError);
  await assert.rejects(other.write(new Uint8Array(1)), ConnClosedError);
  await client.closed;
  // The server sees its conn end: streams without a FIN fail with connection-ended.
  await server.closed;
  assert.equal(server.error?.code, "connection-ended");
  const second = await server.acceptStream();
  assert.equal(second, null, "stream 5 was in the backlog; the backlog is dropped at the end");
  peer.close();
});

Deno.test("smux: malformed frames end only that session, with a logged SmuxError", async () => {
  const lines: string[] = [];
  const logger = new Logger((line) => lines.push(line));
  const [raw, conn] = memoryByteConnPair();
  const victim = SmuxSession.server(conn, { keepAliveDisabled: true }, { logger });
  const [client, server] = sessionPair();

  await raw.write(frameBytes(SmuxCmd.SYN, 3));
  await raw.write(frameBytes(SmuxCmd.PSH, 3, new Uint8Array([1, 2, 3])));
  const stream = (await victim.acceptStream())!;
  const pendingAccept = victim.acceptStream();
  await raw.write(frameBytes(SmuxCmd.NOP, 0, undefined, 1)); // version 1 on a version 2 session
  await victim.closed;
  assert.equal(victim.error?.code, "invalid-version");
  assert.equal(await pendingAccept, null);
  assert.deepEqual(await stream.read(), new Uint8Array([1, 2, 3]), "data before the bad frame is delivered");
  await assert.rejects(stream.read(), (e) => e instanceof SmuxError && e.code === "invalid-version");
  await assert.rejects(stream.write(new Uint8Array(1)), SmuxError);
  assert.equal(await raw.read(), null, "the underlying conn was closed");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /smux: frame version 1 on a version 2 session .*; session closed/);

  // The other session is unaffected.
  const a = await client.openStream();
  await a.write(new Uint8Array([7]));
  const b = (await server.acceptStream())!;
  assert.deepEqual(await b.read(), new Uint8Array([7]));
  a.close();
  b.close();
  client.close();
  server.close();
});

Deno.test("smux keepalive through the adapter: NOPs go out and a silent peer is dropped", async () => {
  const [raw, conn] = memoryByteConnPair();
  const session = SmuxSession.client(conn, { keepAliveIntervalMs: 10, keepAliveTimeoutMs: 30 });
  await session.closed;
  assert.equal(session.error?.code, "keepalive-timeout");
  const sent = await readToEnd(raw);
  assert.ok(sent.length >= 8 && sent.length % 8 === 0);
  for (let i = 0; i < sent.length; i += 8) {
    assert.deepEqual(sent.subarray(i, i + 8), frameBytes(SmuxCmd.NOP, 0));
  }
});

Deno.test("smux: a conn whose write fails (at once or later) ends the session; writes reject", async () => {
  for (const failAtOnce of [true, false]) {
    const [raw, conn] = memoryByteConnPair();
    let writes = 0;
    const failing: ByteConn = {
      read: () => conn.read(),
      write(data) {
        if (++writes < 3) return conn.write(data);
        if (failAtOnce) throw new Error("write failed");
        return Promise.reject(new Error("write failed"));
      },
      close: () => conn.close(),
    };
    const session = SmuxSession.client(failing, TIGHT);
    const stream = await session.openStream(); // write 1: SYN
    await stream.write(new Uint8Array(10)); // write 2
    await assert.rejects(
      stream.write(new Uint8Array(10)),
      (e) => e instanceof SmuxError && e.code === "connection-failed",
    );
    await session.closed;
    assert.equal(session.error?.code, "connection-failed");
    assert.equal((await readToEnd(raw)).length, 8 + 18, "SYN and the first PSH went out");
  }
});
