import assert from "node:assert/strict";
import { TransmitQueue } from "../../lib/smux/transmit_queue.ts";

const noUpd = () => null;

Deno.test("TransmitQueue: an idle session gives back its big slab at the keepalive tick; control frames hold none", () => {
  const queue = new TransmitQueue(2);
  const payload = new Uint8Array(1000);
  for (let i = 0; i < 200; i++) queue.queuePsh(3, payload, 0, payload.length, 32768);
  const busy = queue.poll(noUpd);
  while (queue.poll(noUpd)) { /* drain */ }
  assert.equal(busy?.buffer.byteLength, 8 * 1024, "the first slab is small");
  queue.queuePsh(3, payload, 0, payload.length, 32768);
  const grown = queue.poll(noUpd);
  assert.equal(grown?.buffer.byteLength, 64 * 1024, "slabs grow under load");
  queue.queueNop();
  const nop = queue.poll(noUpd);
  assert.equal(nop?.length, 8);
  assert.equal(nop?.buffer.byteLength, 8, "control frames hold no slab");
  queue.queuePsh(3, payload, 0, payload.length, 32768);
  const after = queue.poll(noUpd);
  assert.equal(after?.buffer.byteLength, 8 * 1024, "after an idle tick the next slab is small again");
});
