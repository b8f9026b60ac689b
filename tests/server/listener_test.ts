/**
 * The listener from accept on (issue 17 items 2–3): the upgrade deadline, the
 * cap on connections mid-upgrade, Go's answers to requests that are not
 * upgrades, and close codes for frames that break RFC 6455, all through an
 * in-process server and read from its typed events.
 */

import assert from "node:assert/strict";
import { TOKEN } from "../../lib/turbotunnel/consts.ts";
import { ClientId } from "../../lib/turbotunnel/client_id.ts";
import { concat } from "../../lib/util/bytes.ts";
import { encodeFrame } from "../../lib/websocket/frame.ts";
import { type ConnReader, writeAll } from "../pt/extorport_standin.ts";
import { RawWebSocket } from "../websocket/raw_client.ts";
import { startTestServer } from "./harness.ts";
import { openTurbotunnelClient } from "./turbotunnel_client.ts";

const HALF_REQUEST = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: bridge\r\nUpgrade: websock");

async function echo(conn: Deno.Conn, reader: ConnReader): Promise<void> {
  for (let chunk = await reader.readSome(); chunk; chunk = await reader.readSome()) {
    await writeAll(conn, chunk);
  }
}

/** Opens a TCP connection and sends half an upgrade request. */
async function slowUpgrade(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, HALF_REQUEST);
  return conn;
}

/** Reads until EOF (or a reset); true when the server closed within `ms`. */
async function closedByServer(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buffer = new Uint8Array(1024);
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while ((await conn.read(buffer)) !== null);
    return true;
  } catch {
    return false; // closed by the timer
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (up to 10 s, polling) until `check` holds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await check()); waited += 20) {
    assert.ok(waited < 10_000, "condition not reached in 10 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An echo round trip through a Turbo Tunnel session. */
async function roundTrip(url: string): Promise<void> {
  const client = await openTurbotunnelClient(url);
  await client.stream.write(new TextEncoder().encode("ping"));
  let got: Uint8Array = new Uint8Array(0);
  while (got.length < 4) {
    const chunk = await client.stream.read();
    assert.ok(chunk);
    got = concat([got, chunk]);
  }
  assert.equal(new TextDecoder().decode(got), "ping");
  await client.close();
}

Deno.test("listener: slow upgrade requests are closed after the deadline; a good client connects meanwhile", async () => {
  const t = await startTestServer({ onData: echo }, { upgradeTimeoutMs: 3_000, sweepIntervalMs: 100 });
  try {
    const slow = await Promise.all(Array.from({ length: 50 }, () => slowUpgrade(t.server.port)));
    await t.waitForEvent("connectionaccepted");
    await roundTrip(t.url);
    const during = await t.server.stats();
    assert.equal(
      during.carrier.upgradesPending,
      50,
      "the slow ones were still waiting while the good one was served",
    );
    const closed = await Promise.all(slow.map((conn) => closedByServer(conn, 30_000)));
    assert.ok(closed.every(Boolean), "every slow connection was closed by the server");
    const after = await t.server.stats();
    assert.equal(after.carrier.upgradeFailures.timeout, 50);
    assert.equal(after.carrier.upgradesPending, 0);
    await t.server.stats().then((s) => assert.equal(s.carrier.connectionsOpen, 0));
  } finally {
    await t.close();
  }
});

Deno.test("listener: past maxPendingUpgrades, connections are closed at accept and counted", async () => {
  const t = await startTestServer({ onData: echo }, { maxPendingUpgrades: 5, upgradeTimeoutMs: 60_000 });
  try {
    const slow = [];
    for (let i = 0; i < 5; i++) slow.push(await slowUpgrade(t.server.port));
    await until(async () => (await t.server.stats()).carrier.upgradesPending === 5);
    const refused = await slowUpgrade(t.server.port);
    assert.ok(await closedByServer(refused, 10_000), "closed at accept");
    const failure = await t.waitForEvent("upgradefailed", (d) => d.reason === "pending-limit");
    assert.match(failure.detail, /5 connections are mid-upgrade/);
    assert.ok(t.lines.some((line) => /refusing connection: 5 connections are mid-upgrade/.test(line)));
    for (const conn of slow) conn.close();
    await until(async () => (await t.server.stats()).carrier.upgradesPending === 0);
    await roundTrip(t.url); // room again
  } finally {
    await t.close();
  }
});

Deno.test("listener: requests that are not upgrades get Go's answers", async () => {
  const t = await startTestServer({ onData: echo });
  try {
    const plain = await fetch(`http://127.0.0.1:${t.server.port}/`);
    assert.equal(plain.status, 400);
    assert.equal(await plain.text(), "Bad Request\n");
    assert.equal(plain.headers.get("sec-websocket-version"), "13");
    assert.equal(plain.headers.get("content-type"), "text/plain; charset=utf-8");
    const post = await fetch(`http://127.0.0.1:${t.server.port}/`, {
      method: "POST",
      headers: { connection: "upgrade", upgrade: "websocket" },
      body: "x",
    });
    assert.equal(post.status, 405);
    assert.equal(await post.text(), "Method Not Allowed\n");
    for (
      const [request, status] of [["HELLO\r\n\r\n", 400], [
        `GET / HTTP/1.1\r\nX: ${"a".repeat(20_000)}`,
        431,
      ]] as const
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.server.port });
      await writeAll(conn, new TextEncoder().encode(request));
      const answer = new Uint8Array(512);
      const n = await conn.read(answer);
      assert.match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), new RegExp(`^HTTP/1.1 ${status} `));
      conn.close();
    }
    const failures = t.events.filter((e) => e.type === "upgradefailed").map((e) => e.detail);
    assert.deepEqual(
      failures.map((d) => [(d as { reason: string }).reason, (d as { status: number }).status]),
      [["not-websocket", 400], ["not-websocket", 405], ["bad-request", 400], ["bad-request", 431]],
    );
    await roundTrip(t.url);
  } finally {
    await t.close();
  }
});

Deno.test("listener: frames that break RFC 6455 are answered with their close code", async () => {
  const t = await startTestServer({ onData: echo }, { websocket: { maxMessageBytes: 4096 } });
  try {
    const preamble = concat([TOKEN, ClientId.random().bytes]);
    const cases: [string, Uint8Array, number][] = [
      ["unmasked", encodeFrame(2, preamble), 1002],
      ["reserved opcode", RawWebSocket.frame(preamble, 3), 1002],
      ["over the message limit", RawWebSocket.frame(new Uint8Array(5000)), 1009],
      ["text not UTF-8", RawWebSocket.frame(new Uint8Array([0xff, 0xfe]), 1), 1007],
    ];
    for (const [name, frame, code] of cases) {
      const raw = await RawWebSocket.connect(t.server.port);
      await raw.writeRaw(frame);
      await raw.readToEnd();
      assert.equal(raw.closeCode, code, name);
      raw.close();
      const closed = await t.waitForEvent(
        "carrierclosed",
        (d) => d.reason === "protocol-error" && d.detail.includes(`(${code})`),
      );
      assert.ok(closed, name);
    }
    // A clean close is echoed with its code, and is no error.
    const raw = await RawWebSocket.connect(t.server.port);
    await raw.writeRaw(RawWebSocket.frame(new Uint8Array([0x03, 0xe8]), 8));
    await raw.readToEnd();
    assert.equal(raw.closeCode, 1000);
    await t.waitForEvent("carrierclosed", (d) => d.reason === "peer-closed");
    await roundTrip(t.url);
  } finally {
    await t.close();
  }
});

Deno.test("events: a session opens with its first carrier and closes with a reason; counters follow the events", async () => {
  for (const numTurbotunnel of [1, 2]) {
    const t = await startTestServer({ onData: echo }, { numTurbotunnel });
    let stopped = false;
    try {
      await roundTrip(`${t.url}?client_ip=192.0.2.9`);
      const opened = await t.waitForEvent("sessionopened");
      assert.equal(opened.withClientAddr, true, `num-turbotunnel=${numTurbotunnel}`);
      assert.equal((await t.server.stats()).tunnel.sessionsAccepted, 1);
      await t.close();
      stopped = true;
      const closed = t.events.find((e) => e.type === "sessionclosed")?.detail as {
        reason: string;
        streams: number;
      };
      assert.ok(closed, `num-turbotunnel=${numTurbotunnel}: no sessionclosed`);
      assert.equal(closed.streams, 1);
      if (numTurbotunnel === 1) assert.equal(closed.reason, "server-closed");
    } finally {
      if (!stopped) await t.close();
    }
  }
});
