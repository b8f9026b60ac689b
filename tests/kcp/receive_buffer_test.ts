/** ReceiveBuffer's stream-mode reads (lib/kcp/receive_buffer.ts): joined up to STREAM_READ_BYTES, the rest left for the next read. */
import assert from "node:assert/strict";
import { ReceiveBuffer, STREAM_READ_BYTES } from "../../lib/kcp/receive_buffer.ts";

Deno.test("ReceiveBuffer stream mode: a read joins ready segments up to STREAM_READ_BYTES, in order, out-of-order ones included", () => {
  const MSS = 1376;
  const SEGMENTS = 120; // ~160 KiB ready: more than two reads' worth
  const buffer = new ReceiveBuffer(1024, true, MSS, Infinity, 0);
  const segment = (sn: number) => new Uint8Array(MSS).fill(sn & 0xff);
  // every other segment first (out of order), then the rest: all 120 end up ready
  for (let sn = 1; sn < SEGMENTS; sn += 2) assert.ok(buffer.push(sn, 0, segment(sn)));
  for (let sn = 0; sn < SEGMENTS; sn += 2) assert.ok(buffer.push(sn, 0, segment(sn)));
  const reads: Uint8Array[] = [];
  for (let data = buffer.read(); data !== null; data = buffer.read()) reads.push(data);
  assert.ok(reads.length >= 3, `${reads.length} reads`);
  for (const data of reads.slice(0, -1)) {
    assert.ok(
      data.length >= STREAM_READ_BYTES && data.length < STREAM_READ_BYTES + MSS,
      `${data.length} bytes`,
    );
  }
  const all = new Uint8Array(reads.reduce((n, data) => n + data.length, 0));
  let offset = 0;
  for (const data of reads) {
    all.set(data, offset);
    offset += data.length;
  }
  assert.equal(all.length, SEGMENTS * MSS);
  for (let sn = 0; sn < SEGMENTS; sn++) assert.equal(all[sn * MSS + MSS - 1], sn & 0xff, `segment ${sn}`);
  assert.equal(buffer.readyBytes, 0);
});
