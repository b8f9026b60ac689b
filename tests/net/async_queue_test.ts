import assert from "node:assert/strict";
import { AsyncQueue } from "../../lib/net/async_queue.ts";

Deno.test("AsyncQueue: FIFO, refuses at the bound, drains then ends after close", async () => {
  const queue = new AsyncQueue<number>(2);
  assert.equal(queue.push(1), true);
  assert.equal(queue.push(2), true);
  assert.equal(queue.push(3), false, "full queue refuses");
  assert.equal(await queue.shift(), 1);
  assert.equal(queue.push(4), true);
  queue.close();
  assert.equal(queue.push(5), false, "closed queue refuses");
  assert.equal(await queue.shift(), 2);
  assert.equal(await queue.shift(), 4);
  assert.equal(await queue.shift(), null);
});

Deno.test("AsyncQueue: a waiting shift gets the next push; close wakes waiters", async () => {
  const queue = new AsyncQueue<string>(1);
  const first = queue.shift();
  queue.push("x");
  assert.equal(await first, "x");
  const second = queue.shift();
  queue.close();
  assert.equal(await second, null);
});

Deno.test("AsyncQueue: long runs keep memory compact and order intact", async () => {
  const queue = new AsyncQueue<number>(5000);
  let expected = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 3000; i++) queue.push(round * 3000 + i);
    for (let i = 0; i < 3000; i++) assert.equal(await queue.shift(), expected++);
  }
  assert.equal(queue.length, 0);
});
