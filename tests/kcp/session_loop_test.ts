/**
 * An smux session over a KCP session runs in the KCP session's one loop with
 * one timer (session.ts, lib/net/machine_host.ts): driven here on fake timers,
 * a client (KcpSession.dial) and a server (KcpListener) move exact byte streams
 * both ways with never more than one timer armed per session, and the smux
 * keepalive, whose deadline rides on that same timer, keeps an idle session
 * alive across fake minutes with no timer of smux's own.
 */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { KcpListener } from "../../lib/kcp/listener.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import { memoryPacketPair } from "../support/memory.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import type { SmuxStream } from "../../lib/smux/stream.ts";
import { concat } from "../../lib/util/bytes.ts";
import { FakeTimerHost, type FakeTimerView, settle } from "../support/fake_timers.ts";
import { Prng } from "../util/netem.ts";
import { sha256 } from "./helpers.ts";

interface Pair {
  host: FakeTimerHost;
  clientTimers: FakeTimerView;
  serverTimers: FakeTimerView;
  clientKcp: KcpSession;
  serverKcp: KcpSession;
  client: SmuxSession;
  server: SmuxSession;
  close(): void;
}

async function pair(): Promise<Pair> {
  const host = new FakeTimerHost(1000);
  const clientTimers = host.view("client");
  const serverTimers = host.view("server");
  const [a, b] = memoryPacketPair(4096, ["client", "server"]);
  const listener = new KcpListener(b, { clock: host.clock, timers: serverTimers, idleTimeoutMs: 0 });
  const clientKcp = KcpSession.dial(a, "server", { clock: host.clock, timers: clientTimers });
  const client = SmuxSession.client(clientKcp, {}, { clock: host.clock });
  const accepted = listener.accept();
  await client.openStream(); // the SYN makes the listener's session
  const serverKcp = (await accepted)!;
  const server = SmuxSession.server(serverKcp, {}, { clock: host.clock });
  return {
    host,
    clientTimers,
    serverTimers,
    clientKcp,
    serverKcp,
    client,
    server,
    close() {
      client.close();
      server.close();
      listener.close();
      a.close();
    },
  };
}

/** Runs fake time until `done` resolves, firing timers only when nothing else can move; checks the one-timer rule. */
async function runUntil<T>(p: Pair, done: Promise<T>, limitMs = 600_000): Promise<T> {
  let result: { value: T } | undefined;
  done.then((value) => result = { value });
  await runWhile(p, () => result === undefined, limitMs);
  return result!.value;
}

/** Fires timers (after letting everything else run) while `going()`; no more than `limitMs` of fake time. */
async function runWhile(p: Pair, going: () => boolean, limitMs: number): Promise<void> {
  const end = p.host.clock.now() + limitMs;
  for (;;) {
    await settle();
    assert.ok(p.clientTimers.armed <= 1 && p.serverTimers.armed <= 1, "at most one timer per session");
    if (!going()) return;
    assert.ok(p.host.next <= end, `stuck at ${p.host.clock.now()} ms of fake time`);
    p.host.fireNext();
  }
}

/** Reads `length` bytes (smux's Close is a full close: each side closes only once both directions are done). */
async function readExact(stream: SmuxStream, length: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (let got = 0; got < length;) {
    const chunk = await stream.read();
    if (chunk === null) throw new Error(`stream ended after ${got} of ${length} bytes`);
    chunks.push(chunk);
    got += chunk.length;
  }
  return concat(chunks);
}

async function writeAll(stream: SmuxStream, data: Uint8Array, random: Prng): Promise<void> {
  for (let at = 0; at < data.length;) {
    const n = Math.min(data.length - at, 1 + random.below(100_000));
    await stream.write(data.subarray(at, at + n));
    at += n;
  }
}

Deno.test("KCP + smux in one loop: exact streams both ways, one timer per session at every step", async () => {
  const p = await pair();
  try {
    const random = new Prng(7);
    const up = random.bytes(1_500_000);
    const down = random.bytes(700_000);
    const work = (async () => {
      const clientStream = await p.client.openStream();
      const serverStream = (await p.server.acceptStream())!; // the pair's first stream
      const secondServer = (await p.server.acceptStream())!;
      assert.equal(secondServer.id, clientStream.id);
      const [gotUp, gotDown] = await Promise.all([
        readExact(secondServer, up.length),
        readExact(clientStream, down.length),
        writeAll(clientStream, up, random),
        writeAll(secondServer, down, random),
      ]);
      for (const stream of [clientStream, serverStream, secondServer]) stream.close();
      return [gotUp, gotDown];
    })();
    const [gotUp, gotDown] = await runUntil(p, work);
    assert.equal(await sha256(gotUp), await sha256(up));
    assert.equal(await sha256(gotDown), await sha256(down));
    assert.equal(p.clientTimers.maxArmed, 1);
    assert.equal(p.serverTimers.maxArmed, 1);
  } finally {
    p.close();
  }
});

Deno.test("KCP + smux in one loop: the smux keepalive runs on the KCP session's timer, and the layer below is not for others", async () => {
  const p = await pair();
  try {
    await runUntil(p, p.server.acceptStream());
    const start = p.host.clock.now();
    const packetsBefore = p.serverKcp.stats.packetsIn;
    // five fake minutes of silence: pings every 10 s keep both ends from the 30 s keepalive timeout
    await runWhile(p, () => p.host.clock.now() - start < 300_000, 310_000);
    assert.equal(p.client.isClosed, false);
    assert.equal(p.server.isClosed, false);
    assert.ok(p.serverKcp.stats.packetsIn - packetsBefore >= 29, "a NOP every 10 s reached the server");
    assert.equal(p.clientTimers.maxArmed, 1);
    await assert.rejects(p.clientKcp.read(), /driven by the layer above/);
  } finally {
    p.close();
  }
});

Deno.test("KcpSession alone (a ByteConn): the update loop and the idle trim share its one timer", async () => {
  const host = new FakeTimerHost(0);
  const timers = [host.view("a"), host.view("b")];
  const [x, y] = memoryPacketPair(4096, ["a", "b"]);
  const a = KcpSession.dial(x, "b", { clock: host.clock, timers: timers[0], conv: 9 });
  const b = KcpSession.dial(y, "a", { clock: host.clock, timers: timers[1], conv: 9 });
  const fresh = new Arq(9, SNOWFLAKE_KCP_OPTIONS).footprint;
  try {
    const data = new Prng(3).bytes(400_000);
    const received = (async () => {
      const chunks: Uint8Array[] = [];
      for (let got = 0; got < data.length;) {
        const chunk = (await b.read())!;
        chunks.push(chunk);
        got += chunk.length;
      }
      return concat(chunks);
    })();
    const written = a.write(data); // waits for the window: the loop below runs the timers
    let result: Uint8Array | undefined;
    received.then((bytes) => result = bytes);
    for (let i = 0; i < 100_000; i++) {
      await settle();
      assert.ok(timers.every((view) => view.armed <= 1), "at most one timer per session");
      if (!host.fireNext()) break; // every timer has run out: idle
    }
    await written;
    assert.ok(result !== undefined, "all data arrived");
    assert.equal(await sha256(result), await sha256(data));
    assert.ok(a.arq.idle && b.arq.idle);
    assert.deepEqual(a.arq.footprint.ringSlots, fresh.ringSlots, "the sender trimmed on that timer");
    assert.equal(a.timerArmed, false, "idle and trimmed: no timer at all");
    assert.deepEqual(timers.map((view) => view.maxArmed), [1, 1]);
  } finally {
    a.close();
    b.close();
  }
});
