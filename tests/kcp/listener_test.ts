/** KcpListener's demultiplexing rules (KCP-SMUX.md §2.2) and our bounds, fed packet by packet. */
import assert from "node:assert/strict";
import { KcpListener } from "../../lib/kcp/listener.ts";
import { CMD_ACK, decodePacket } from "../../lib/kcp/segment.ts";
import { ManualClock } from "../../lib/util/clock.ts";
import { Logger } from "../../lib/util/log.ts";
import { packetOf, RecordingPacketConn } from "./helpers.ts";

function listen(options: ConstructorParameters<typeof KcpListener>[1] = {}) {
  const conn = new RecordingPacketConn();
  const listener = new KcpListener(conn, { idleTimeoutMs: 0, ...options });
  return { conn, listener };
}

const push = (conv: number, sn: number, text = "x") =>
  packetOf({ conv, sn, data: new TextEncoder().encode(text) });

Deno.test("KcpListener §2.2: any ≥ 24-byte packet from a new address makes a session, even a stray ACK", async () => {
  const { listener } = listen();
  listener.packetInput(packetOf({ conv: 77, cmd: CMD_ACK, sn: 5 }), "client-a");
  const session = await listener.accept();
  assert.equal(session?.conv, 77);
  assert.equal(session?.remoteAddr, "client-a");
  listener.close();
});

Deno.test("KcpListener §2.2: same address, new conv with sn ≠ 0 is dropped; sn = 0 replaces the session", async () => {
  const { conn, listener } = listen();
  listener.packetInput(push(1, 0, "first"), "c");
  const first = (await listener.accept())!;
  assert.equal(new TextDecoder().decode((await first.read())!), "first");
  listener.packetInput(push(2, 1), "c");
  assert.equal(listener.stats.dropped["new-conv-rejected"], 1);
  assert.equal(first.isClosed, false);
  listener.packetInput(push(2, 0, "second"), "c");
  assert.equal(first.isClosed, true, "the old conversation is closed");
  const second = (await listener.accept())!;
  assert.equal(second.conv, 2);
  assert.equal(new TextDecoder().decode((await second.read())!), "second");
  listener.packetInput(push(2, 1, "more"), "c");
  assert.equal(new TextDecoder().decode((await second.read())!), "more", "the new session gets its packets");
  second.close();
  // a packet after close makes a fresh session (§2.4)
  listener.packetInput(push(2, 2), "c");
  assert.equal(listener.sessionCount, 1);
  listener.close();
  assert.ok(conn.written.every((p) => p.addr === "c"));
});

Deno.test("KcpListener §2.2: the accept backlog drops new conversations when full", async () => {
  const { listener } = listen({ backlog: 2 });
  for (const addr of ["a", "b", "c"]) listener.packetInput(push(9, 0), addr);
  assert.equal(listener.sessionCount, 2);
  assert.equal(listener.stats.dropped["backlog-full"], 1);
  await listener.accept();
  listener.packetInput(push(9, 0), "c");
  assert.equal(listener.sessionCount, 3);
  listener.close();
});

Deno.test("KcpListener: short packets and FEC-looking packets are dropped and counted", () => {
  const { listener } = listen();
  listener.packetInput(new Uint8Array(23), "a");
  const fec = push(1, 0);
  fec[4] = 0xf1;
  fec[5] = 0;
  listener.packetInput(fec, "a");
  fec[4] = 0xf2;
  listener.packetInput(fec, "a");
  assert.deepEqual(listener.stats.dropped, { "short-packet": 1, "fec-packet": 2 });
  assert.equal(listener.sessionCount, 0);
  listener.close();
});

Deno.test("KcpListener: accepted sessions have Snowflake's settings before the first packet (no §2.3 race)", async () => {
  const { conn, listener } = listen();
  listener.packetInput(packetOf({ conv: 3, sn: 40, ts: 1 }), "a"); // kcp-go's rcv_wnd 32 would ignore sn 40
  const session = (await listener.accept())!;
  assert.equal(session.arq.options.rcvWnd, 65535);
  assert.equal(session.arq.options.interval, 10);
  session.close(); // the final flush sends the pending ACK
  const ack = conn.written.flatMap((p) => decodePacket(p.packet)).find((s) => s.cmd === CMD_ACK);
  assert.equal(ack?.sn, 40);
  listener.close();
});

Deno.test("KcpListener: at most maxSessions live sessions; closed ones free their slot", async () => {
  const { listener } = listen({ maxSessions: 2 });
  for (const addr of ["a", "b", "c"]) listener.packetInput(push(1, 0), addr);
  assert.equal(listener.sessionCount, 2);
  assert.equal(listener.stats.dropped["too-many-sessions"], 1);
  (await listener.accept())!.close();
  listener.packetInput(push(1, 0), "c");
  assert.equal(listener.sessionCount, 2);
  listener.close();
});

Deno.test("KcpListener: sessions without input for idleTimeoutMs are closed", async () => {
  const clock = new ManualClock(1000);
  const { listener } = listen({ idleTimeoutMs: 60_000, clock });
  listener.packetInput(push(1, 0), "a");
  clock.advance(30_000);
  listener.packetInput(push(2, 0), "b");
  const a = (await listener.accept())!;
  clock.advance(30_000);
  assert.equal(listener.expireIdle(clock.now()), 1);
  assert.equal(a.isClosed, true);
  assert.equal(listener.sessionCount, 1);
  listener.packetInput(push(2, 1), "b");
  clock.advance(59_999);
  assert.equal(listener.expireIdle(clock.now()), 0, "b had input 59 999 ms ago");
  assert.equal(listener.stats.sessionsExpired, 1);
  listener.close();
});

Deno.test("KcpListener: a malformed packet for a live session is dropped and counted; the session lives on", async () => {
  const { listener } = listen();
  listener.packetInput(push(5, 0, "ok"), "a");
  const session = (await listener.accept())!;
  const bad = push(5, 1, "bad");
  bad[20] = 99; // len past the end
  listener.packetInput(bad, "a");
  assert.equal(session.stats.inputErrors, 1);
  assert.equal(session.stats.lastError?.code, "bad-length");
  listener.packetInput(push(5, 1, "fine"), "a");
  assert.equal(new TextDecoder().decode((await session.read())!), "okfine");
  listener.close();
});

Deno.test("KcpListener: close closes every session and ends accept(); a closed conn closes the listener", async () => {
  const { conn, listener } = listen({ ownConn: true });
  listener.packetInput(push(1, 0), "a");
  listener.packetInput(push(1, 0), "b");
  const a = (await listener.accept())!;
  assert.equal((await a.read())?.length, 1);
  const next = a.read();
  listener.close();
  assert.equal(await next, null);
  assert.equal(await listener.accept(), null);
  assert.equal(conn.closed, true);
  await a.closed;

  const other = listen();
  other.conn.close();
  assert.equal(await other.listener.accept(), null);
});

Deno.test("KcpListener: drops are logged with their KcpError code, 1st, 10th, 100th… only", () => {
  const lines: string[] = [];
  const logger = new Logger((line) => lines.push(line));
  const { listener } = listen({ logger });
  for (let i = 0; i < 25; i++) listener.packetInput(new Uint8Array(5), "198.51.100.7:4000");
  assert.equal(listener.stats.dropped["short-packet"], 25);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /dropped packet from .*: short-packet: 5-byte packet \(1 so far\)/);
  assert.match(lines[1], /\(10 so far\)/);
  assert.ok(!lines[0].includes("198.51.100.7"), "addresses are scrubbed by the logger");
  listener.close();
});
