import assert from "node:assert/strict";
import { forEachPacket, type PacketBatch, PacketBatcher } from "../../lib/server/backends/worker_protocol.ts";

Deno.test("PacketBatcher: one batch per task, packets and addresses intact", async () => {
  const batches: PacketBatch[] = [];
  const batcher = new PacketBatcher((batch) => batches.push(batch));
  batcher.add(new Uint8Array([1, 2, 3]), "a");
  batcher.add(new Uint8Array([]), "b");
  batcher.add(new Uint8Array([4]), "a");
  assert.equal(batches.length, 0); // not before the end of the task
  await Promise.resolve();
  assert.equal(batches.length, 1);
  const seen: [number[], string][] = [];
  forEachPacket(batches[0], (packet, addr) => seen.push([[...packet], addr]));
  assert.deepEqual(seen, [[[1, 2, 3], "a"], [[], "b"], [[4], "a"]]);
  batcher.flush(); // nothing collected: nothing sent
  assert.equal(batches.length, 1);
});

Deno.test("PacketBatcher: a full batch goes at once", () => {
  const batches: PacketBatch[] = [];
  const batcher = new PacketBatcher((batch) => batches.push(batch));
  for (let i = 0; i < 200; i++) batcher.add(new Uint8Array(1400).fill(i), String(i));
  assert.equal(batches.length, 1); // 256 KiB reached after 188 packets
  batcher.flush();
  let count = 0;
  for (const batch of batches) {
    forEachPacket(batch, (packet, addr) => {
      assert.equal(packet[0], Number(addr) & 0xff);
      count++;
    });
  }
  assert.equal(count, 200);
});
