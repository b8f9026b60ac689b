import assert from "node:assert/strict";
import { watchStdinClose } from "../../lib/pt/stdin_close.ts";

Deno.test("watchStdinClose: fires once at EOF, after discarding input", async () => {
  const chunks = [new Uint8Array(10), new Uint8Array(3)];
  let reads = 0;
  let closed = 0;
  await watchStdinClose(() => closed++, {
    read: (buffer) => {
      reads++;
      const chunk = chunks.shift();
      if (!chunk) return Promise.resolve(null);
      buffer.set(chunk);
      return Promise.resolve(chunk.length);
    },
  });
  assert.equal(reads, 3);
  assert.equal(closed, 1);
});

Deno.test("watchStdinClose: a read error counts as close", async () => {
  let closed = 0;
  await watchStdinClose(() => closed++, { read: () => Promise.reject(new Error("EBADF")) });
  assert.equal(closed, 1);
});
