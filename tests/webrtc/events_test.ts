/** The shim's event framing (lib/webrtc/events.ts, native/events.go), byte for byte. */

import assert from "node:assert/strict";
import { decodeEvent, EVENT_HEADER_SIZE, EventKind } from "../../lib/webrtc/events.ts";

Deno.test("webrtc events: two events back to back decode in order", () => {
  const buf = new Uint8Array([
    // kind 2 (binary message), handle 7, length 3, payload "abc"
    0x02,
    0x07,
    0x00,
    0x00,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x61,
    0x62,
    0x63,
    // kind 4 (close), handle 0x01020304, empty payload
    0x04,
    0x04,
    0x03,
    0x02,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
  ]);
  const [first, next] = decodeEvent(buf, 0, buf.length);
  assert.equal(first.kind, EventKind.ChannelBinary);
  assert.equal(first.handle, 7);
  assert.deepEqual([...first.payload], [0x61, 0x62, 0x63]);
  assert.equal(next, EVENT_HEADER_SIZE + 3);
  const [second, end] = decodeEvent(buf, next, buf.length);
  assert.equal(second.kind, EventKind.ChannelClose);
  assert.equal(second.handle, 0x01020304);
  assert.equal(second.payload.length, 0);
  assert.equal(end, buf.length);
});

Deno.test("webrtc events: a cut header or payload is a RangeError", () => {
  const buf = new Uint8Array([0x02, 0x07, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x61]);
  assert.throws(() => decodeEvent(buf, 0, 8), RangeError); // header needs 9 bytes
  assert.throws(() => decodeEvent(buf, 0, buf.length), RangeError); // 5 payload bytes promised, 1 there
});
