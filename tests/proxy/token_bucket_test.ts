import assert from "node:assert/strict";
import { TokenBucket } from "../../lib/proxy/token_bucket.ts";
import { ChunkQueue } from "../../lib/proxy/chunk_queue.ts";

Deno.test("TokenBucket: a second's burst, then the rate; a message is never split", () => {
  const bucket = new TokenBucket(10_000, 0); // 10 kB/s
  assert.equal(bucket.take(0, 6_000), 0);
  assert.equal(bucket.take(0, 6_000), 0); // allowed: the bucket was not in debt; now 2 kB in debt
  assert.equal(bucket.take(0, 1), 200); // 2000 B / 10 B/ms
  assert.equal(bucket.take(199, 1), 1);
  assert.equal(bucket.take(200, 1_000), 0);
  // Over 10 s of sending 1 kB whenever allowed: the rate, plus what was saved up at the start (7 kB).
  let sent = 0;
  for (let now = 1_000; now < 11_000; now++) if (bucket.take(now, 1_000) === 0) sent += 1_000;
  assert.ok(sent >= 106_000 && sent <= 108_000, `${sent}`);
  // An idle bucket refills to one second's worth, no more.
  const idle = new TokenBucket(1_000, 0);
  assert.equal(idle.take(1_000_000, 1_500), 0);
  assert.equal(idle.take(1_000_000, 1), 500);
  assert.throws(() => new TokenBucket(0, 0), RangeError);
});

Deno.test("ChunkQueue: FIFO with a byte count across compaction", () => {
  const queue = new ChunkQueue();
  for (let i = 0; i < 3000; i++) queue.push(new Uint8Array([i & 0xff, 1]));
  assert.equal(queue.bytes, 6000);
  for (let i = 0; i < 2000; i++) assert.equal(queue.shift()![0], i & 0xff);
  assert.equal(queue.bytes, 2000);
  assert.equal(queue.peek()![0], 2000 & 0xff);
  for (let i = 2000; i < 3000; i++) assert.equal(queue.shift()![0], i & 0xff);
  assert.ok(queue.isEmpty);
  assert.equal(queue.shift(), undefined);
  queue.push(new Uint8Array(5));
  queue.clear();
  assert.equal(queue.bytes, 0);
});
