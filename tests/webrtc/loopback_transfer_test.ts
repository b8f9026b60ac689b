/**
 * Two peers in one process, connected through loopback candidates, move
 * 50 MB each way over one ordered reliable data channel at once, with
 * bufferedAmount back-pressure; the bytes are checked by sha256.
 */

import assert from "node:assert/strict";
import { nativeStats } from "../../lib/webrtc/mod.ts";
import { connectPair } from "./connect.ts";
import { receiveHashed, sendRandom } from "./transfer.ts";

const TOTAL = 50_000_000;
const MESSAGE_SIZE = 1200; // about one encapsulated KCP packet, as Snowflake sends

Deno.test("webrtc: 50 MB each way between two peers in one process, sha256-checked", async () => {
  const pair = await connectPair();
  try {
    assert.equal(pair.offerer.connectionState, "connected");
    assert.equal(pair.local.ordered, true);
    assert.equal(pair.local.maxRetransmits, null);
    assert.equal(pair.remote.label, "test");
    assert.equal(pair.remote.id, pair.local.id);
    const [sentByOfferer, sentByAnswerer, atAnswerer, atOfferer] = await Promise.all([
      sendRandom(pair.local, TOTAL, MESSAGE_SIZE),
      sendRandom(pair.remote, TOTAL, MESSAGE_SIZE),
      receiveHashed(pair.remote, TOTAL),
      receiveHashed(pair.local, TOTAL),
    ]);
    assert.deepEqual(atAnswerer, { received: TOTAL, sha256: sentByOfferer });
    assert.deepEqual(atOfferer, { received: TOTAL, sha256: sentByAnswerer });
  } finally {
    pair.close();
  }
  assert.equal(nativeStats().handles, 0);
});
