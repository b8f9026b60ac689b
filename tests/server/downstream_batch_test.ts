import assert from "node:assert/strict";
import { EncapsulationDecoder } from "../../lib/encapsulation/decoder.ts";
import { CARRIER_MAX_MESSAGE_BYTES, takeBatch } from "../../lib/server/connection/downstream_batch.ts";
import { ClientSendQueue, QueuedBytesBudget } from "../../lib/turbotunnel/send_queue.ts";
import { concat } from "../../lib/util/bytes.ts";
import { Prng } from "../util/netem.ts";
import { sha256Hex, startTestServer } from "./harness.ts";
import { openTurbotunnelClient } from "./turbotunnel_client.ts";
import { type ConnReader, writeAll } from "../pt/extorport_standin.ts";

Deno.test("takeBatch: every message ≤ 16 KiB, whole packets in order, as full as the next packet allows", () => {
  const prng = new Prng(17);
  const queue = new ClientSendQueue(10_000, new QueuedBytesBudget(64 << 20));
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    // KCP-sized packets, with the edge lengths of 1- and 2-byte prefixes
    const length = [1, 63, 64, 1400, 1500][i % 5] ?? 1;
    const packet = new Uint8Array(i % 7 === 0 ? 1 + Math.floor(prng.next() * 1500) : length);
    packet.fill(i & 0xff);
    sent.push(packet);
    assert.ok(queue.push(packet));
  }
  const decoder = new EncapsulationDecoder({ maxPacketSize: 1500 });
  const got: Uint8Array[] = [];
  let messages = 0;
  for (let first = queue.tryShift(); first; first = queue.tryShift()) {
    const message = takeBatch(first, queue);
    messages++;
    assert.ok(message.length <= CARRIER_MAX_MESSAGE_BYTES, `message of ${message.length} bytes`);
    const next = queue.peek();
    if (next) {
      assert.ok(message.length + next.length + 2 > CARRIER_MAX_MESSAGE_BYTES, "the next packet fitted");
    }
    decoder.push(message);
    for (let packet = decoder.next(); packet; packet = decoder.next()) got.push(packet.slice());
  }
  assert.equal(got.length, sent.length);
  for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i], sent[i], `packet ${i}`);
  assert.ok(messages < sent.length / 5, `batching kept: ${messages} messages for ${sent.length} packets`);
  assert.equal(queue.bytes, 0);
});

/** A stand-in ORPort that sends `bytes` to each client, then waits for it to close. */
function sendAll(bytes: Uint8Array) {
  return async (conn: Deno.Conn, reader: ConnReader) => {
    await writeAll(conn, bytes);
    while (await reader.readSome());
  };
}

/** Opens a plain WebSocket and records every message's size until `total` bytes arrived. */
async function download(
  url: string,
  first: Uint8Array[],
  total: number,
): Promise<{ sizes: number[]; bytes: Uint8Array }> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const sizes: number[] = [];
  const chunks: Uint8Array[] = [];
  let received = 0;
  const done = Promise.withResolvers<void>();
  ws.onopen = () => {
    for (const bytes of first) ws.send(bytes);
  };
  ws.onmessage = (event) => {
    const bytes = new Uint8Array(event.data as ArrayBuffer);
    sizes.push(bytes.length);
    chunks.push(bytes);
    received += bytes.length;
    if (received >= total) done.resolve();
  };
  ws.onclose = () => done.resolve();
  await done.promise;
  ws.close();
  return { sizes, bytes: concat(chunks) };
}

Deno.test("server: no WebSocket message over 16 KiB, Turbo Tunnel (4 MB) and legacy (4 MB from tor)", async () => {
  const payload = new Uint8Array(4_000_000);
  for (let at = 0; at < payload.length; at += 65536) crypto.getRandomValues(payload.subarray(at, at + 65536));
  const t = await startTestServer({ onData: sendAll(payload) });
  try {
    // Turbo Tunnel: the test client's carriers are plain WebSockets; count what each message held.
    const sizes: number[] = [];
    const client = await openTurbotunnelClient(t.url, { onMessage: (size) => sizes.push(size) });
    await client.stream.write(new Uint8Array([1])); // opens the stream at the server
    const received: Uint8Array[] = [];
    let length = 0;
    while (length < payload.length) {
      const chunk = await client.stream.read();
      assert.ok(chunk, "stream ended early");
      received.push(chunk.slice());
      length += chunk.length;
    }
    assert.equal(await sha256Hex(concat(received)), await sha256Hex(payload));
    await client.close();
    const largest = Math.max(...sizes);
    assert.ok(largest <= CARRIER_MAX_MESSAGE_BYTES, `a Turbo Tunnel message of ${largest} bytes`);
    assert.ok(largest > 2 * 1500, `packets still batched (largest message ${largest} bytes)`);

    // Legacy: the WebSocket is tor's byte stream; tor's reads can be 64 KiB, the messages may not.
    const legacy = await download(t.url, [new TextEncoder().encode("legacy!!")], payload.length);
    assert.equal(await sha256Hex(legacy.bytes), await sha256Hex(payload));
    const largestLegacy = Math.max(...legacy.sizes);
    assert.ok(largestLegacy <= CARRIER_MAX_MESSAGE_BYTES, `a legacy message of ${largestLegacy} bytes`);
  } finally {
    await t.close();
  }
});
