import assert from "node:assert/strict";
import { CLIENT_MAP_TIMEOUT_MS, ClientMap } from "../../lib/turbotunnel/client_map.ts";
import { QUEUE_SIZE } from "../../lib/turbotunnel/consts.ts";

const packet = (n: number, size = 1) => new Uint8Array(size).fill(n);

Deno.test("ClientMap: one queue per client, bounded at QUEUE_SIZE packets", () => {
  const map = new ClientMap();
  assert.equal(map.timeoutMs, CLIENT_MAP_TIMEOUT_MS);
  assert.equal(CLIENT_MAP_TIMEOUT_MS, 60_000); // Go server's clientMapTimeout
  const a = map.sendQueue("aaaaaaaaaaaaaaaa", 0);
  assert.equal(map.sendQueue("aaaaaaaaaaaaaaaa", 1), a);
  assert.notEqual(map.sendQueue("bbbbbbbbbbbbbbbb", 1), a);
  assert.equal(map.size, 2);
  for (let i = 0; i < QUEUE_SIZE; i++) assert.ok(a.push(packet(i)));
  assert.equal(a.push(packet(0)), false, "full: the caller drops it");
  assert.equal(a.length, QUEUE_SIZE);
});

Deno.test("ClientMap: expire removes clients idle ≥ timeout and closes their queues (fake clock)", async () => {
  const map = new ClientMap({ timeoutMs: 60_000 });
  const a = map.sendQueue("a", 0);
  const b = map.sendQueue("b", 30_000);
  a.push(packet(1));
  const waiting = b.shift(); // a WebSocket writer waiting on b's queue

  assert.equal(map.expire(59_999), 0);
  assert.equal(map.expire(60_000), 1, "a is exactly 60 s idle");
  assert.equal(map.size, 1);
  assert.equal(a.closed, true);
  assert.equal(await a.shift(), null, "its packets are dropped with it");

  map.sendQueue("b", 80_000); // seen again: LastSeen refreshed
  assert.equal(map.expire(139_999), 0);
  assert.equal(map.expire(140_000), 1);
  assert.equal(await waiting, null, "the waiting writer sees the end");

  const fresh = map.sendQueue("a", 150_000);
  assert.notEqual(fresh, a, "a returning client gets a fresh, empty queue");
  assert.equal(fresh.length, 0);
  assert.equal(map.expire(150_000), 0);
});

Deno.test("ClientMap: a clock that steps back does not hide expired clients", () => {
  const map = new ClientMap({ timeoutMs: 100 });
  map.sendQueue("a", 1000);
  map.sendQueue("b", 500); // an earlier time than a's: recorded as 1000 so the order stays LastSeen order
  map.sendQueue("a", 1050);
  assert.equal(map.expire(1100), 1); // b
  assert.equal(map.expire(1150), 1); // a
  assert.equal(map.size, 0);
});

Deno.test("ClientMap: at maxClients a new client evicts the least recently seen", () => {
  const map = new ClientMap({ maxClients: 3 });
  const a = map.sendQueue("a", 0);
  const b = map.sendQueue("b", 1);
  const c = map.sendQueue("c", 2);
  map.sendQueue("a", 3); // a is now the most recent; b the least
  map.sendQueue("d", 4);
  assert.equal(map.size, 3);
  assert.deepEqual([a.closed, b.closed, c.closed], [false, true, false]);
  assert.notEqual(map.sendQueue("b", 5), b, "b comes back with a fresh queue (evicting c)");
  assert.equal(c.closed, true);
});

Deno.test("ClientMap: queued bytes of all clients share one budget", async () => {
  const map = new ClientMap({ maxQueuedBytes: 1000 });
  const a = map.sendQueue("a", 0);
  const b = map.sendQueue("b", 0);
  assert.ok(a.push(packet(1, 600)));
  assert.equal(b.push(packet(2, 600)), false, "over the shared budget: dropped");
  assert.ok(b.push(packet(3, 400)));
  assert.equal(map.queuedBytes, 1000);
  assert.equal(a.bytes, 600);
  assert.deepEqual(await a.shift(), packet(1, 600));
  assert.equal(map.queuedBytes, 400);
  assert.ok(b.push(packet(4, 600)));
  assert.equal(map.expire(CLIENT_MAP_TIMEOUT_MS), 2);
  assert.equal(map.queuedBytes, 0, "expiry returns the bytes");

  // A packet handed straight to a waiting writer never counts.
  const c = map.sendQueue("c", CLIENT_MAP_TIMEOUT_MS);
  const waiting = c.shift();
  assert.ok(c.push(packet(5, 1000)));
  assert.equal(map.queuedBytes, 0);
  assert.deepEqual(await waiting, packet(5, 1000));
});

Deno.test("ClientSendQueue: several writers each get distinct packets; an aborted writer takes none", async () => {
  const map = new ClientMap();
  const queue = map.sendQueue("a", 0);
  const gone = new AbortController();
  const abandoned = queue.shift(gone.signal); // its WebSocket closes before a packet comes
  const writers = [new AbortController(), new AbortController(), new AbortController()];
  const received = writers.map((w) => queue.shift(w.signal));
  gone.abort();
  assert.equal(await abandoned, null);
  for (let i = 0; i < 3; i++) queue.push(packet(i));
  const got = (await Promise.all(received)).map((p) => p![0]).sort();
  assert.deepEqual(got, [0, 1, 2], "each packet went to exactly one live writer");
  queue.push(packet(9));
  assert.deepEqual(await queue.shift(), packet(9), "nothing was lost to the aborted writer");
  const late = queue.shift(writers[0].signal);
  map.clear();
  assert.equal(await late, null, "clear() closes the queues");
  assert.equal(await queue.shift(AbortSignal.abort()), null);
});
