import assert from "node:assert/strict";
import { ConnClosedError, type Packet, type PacketConn } from "../../lib/net/packet_conn.ts";
import { ClientId } from "../../lib/turbotunnel/client_id.ts";
import { QueuePacketConn } from "../../lib/turbotunnel/queue_packet_conn.ts";
import { ManualClock } from "../../lib/util/clock.ts";
import { runPacketConnCases } from "../net/packet_conn_cases.ts";

/**
 * A test driver in the place of the server's WebSocket handler for one client:
 * what it writes goes in with queueIncoming, what it reads comes from the
 * client's outgoing queue.
 */
function webSocketHandlerDriver(conn: QueuePacketConn, clientId: string): PacketConn {
  const done = new AbortController();
  return {
    async readFrom(): Promise<Packet | null> {
      if (done.signal.aborted) return null;
      let queue;
      try {
        queue = conn.outgoingQueue(clientId);
      } catch (error) {
        if (error instanceof ConnClosedError) return null;
        throw error;
      }
      const packet = await queue.shift(done.signal);
      return packet === null ? null : { packet, addr: "server" };
    },
    writeTo(packet) {
      if (done.signal.aborted) throw new ConnClosedError("driver");
      conn.queueIncoming(packet, clientId);
    },
    close: () => done.abort(),
  };
}

runPacketConnCases({
  name: "QueuePacketConn",
  makePair: () => {
    const a = new QueuePacketConn({ queueSize: 64 });
    const clientId = ClientId.random().toString();
    return { a, b: webSocketHandlerDriver(a, clientId), aAddr: "server", bAddr: clientId, capacity: 64 };
  },
});

const packet = (n: number, size = 1) => new Uint8Array(size).fill(n);

Deno.test("QueuePacketConn: incoming packets keep their ClientID; a full queue drops and counts", async () => {
  const conn = new QueuePacketConn({ queueSize: 4 });
  const results = [0, 1, 2, 3, 4, 5].map((i) => conn.queueIncoming(packet(i), `client${i % 2}`));
  assert.deepEqual(results, [true, true, true, true, false, false]);
  assert.equal(conn.droppedIncoming, 2);
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await conn.readFrom(), { packet: packet(i), addr: `client${i % 2}` });
  }
  conn.close();
});

Deno.test("QueuePacketConn: writeTo fills the client's queue, then drops and counts", async () => {
  const conn = new QueuePacketConn({ queueSize: 4 });
  for (let i = 0; i < 7; i++) conn.writeTo(packet(i), "a");
  conn.writeTo(packet(9), "b");
  assert.equal(conn.droppedOutgoing, 3);
  const a = conn.outgoingQueue("a");
  for (let i = 0; i < 4; i++) assert.deepEqual(await a.shift(), packet(i));
  assert.deepEqual(await conn.outgoingQueue("b").shift(), packet(9));
  conn.close();
});

Deno.test("QueuePacketConn: 10,000 distinct clients stay within maxClients and the byte budget", async () => {
  const conn = new QueuePacketConn({ queueSize: 8, maxClients: 1000, maxQueuedBytes: 1 << 20 });
  let written = 0;
  for (let client = 0; client < 10_000; client++) {
    const id = client.toString(16).padStart(16, "0");
    conn.queueIncoming(packet(1, 1400), id);
    for (let i = 0; i < 16; i++, written++) conn.writeTo(packet(i, 1400), id);
    assert.ok(conn.clients.size <= 1000);
    assert.ok(conn.clients.queuedBytes <= 1 << 20);
  }
  assert.equal(conn.clients.size, 1000);
  // All clients together hold at most 1 MiB: 748 full-size packets. The rest were dropped and counted
  // (evicting a client returns its bytes to the budget, so more than 748 were accepted along the way).
  const kept = Math.floor((1 << 20) / 1400);
  assert.equal(conn.clients.queuedBytes, kept * 1400);
  assert.ok(conn.droppedOutgoing > written / 2 && conn.droppedOutgoing <= written - kept);
  assert.equal(conn.droppedIncoming, 10_000 - 8);
  // The budget is shared, not lost: a client refused for want of budget can queue once another drains.
  const ids = Array.from({ length: 1000 }, (_, i) => (9000 + i).toString(16).padStart(16, "0"));
  const starved = ids.find((id) => conn.outgoingQueue(id).length === 0)!;
  const full = conn.outgoingQueue(ids.find((id) => conn.outgoingQueue(id).length > 0)!);
  conn.writeTo(packet(7, 1400), starved);
  assert.equal(conn.outgoingQueue(starved).length, 0);
  await full.shift();
  conn.writeTo(packet(7, 1400), starved);
  assert.equal(conn.outgoingQueue(starved).length, 1);
  conn.close();
  assert.equal(conn.clients.size, 0);
  assert.equal(conn.clients.queuedBytes, 0);
});

Deno.test("QueuePacketConn: its timer expires idle clients every timeout/2", async () => {
  const clock = new ManualClock();
  const conn = new QueuePacketConn({ clientTimeoutMs: 20, clock });
  const idle = conn.outgoingQueue("idle");
  conn.writeTo(packet(1), "idle");
  clock.advance(20);
  assert.deepEqual(await idle.shift(), packet(1));
  assert.equal(await idle.shift(), null, "the timer expired the client and closed its queue");
  assert.equal(conn.clients.size, 0);
  conn.close();
});

Deno.test("QueuePacketConn: several writers share one client's queue, each packet goes to one", async () => {
  const conn = new QueuePacketConn();
  const writer = async () => {
    const got: number[] = [];
    for (let packet; (packet = await conn.outgoingQueue("a").shift()) !== null;) got.push(packet[0]);
    return got;
  };
  const writers = [writer(), writer(), writer()];
  for (let i = 0; i < 200; i++) {
    conn.writeTo(packet(i), "a");
    if (i % 10 === 0) await Promise.resolve();
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  conn.close();
  const all = (await Promise.all(writers)).flat().sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: 200 }, (_, i) => i));
});

Deno.test("QueuePacketConn: close ends everything", async () => {
  const conn = new QueuePacketConn();
  const reading = conn.readFrom();
  const queue = conn.outgoingQueue("a");
  const writing = queue.shift();
  conn.writeTo(packet(1), "b");
  conn.close();
  assert.equal(await reading, null);
  assert.equal(await writing, null);
  assert.equal(await conn.readFrom(), null);
  assert.equal(conn.queueIncoming(packet(1), "a"), false);
  assert.throws(() => conn.writeTo(packet(1), "a"), ConnClosedError);
  assert.throws(() => conn.outgoingQueue("a"), ConnClosedError);
  conn.close();
});
