import assert from "node:assert/strict";
import {
  decodeClosePayload,
  decodeFrameHeader,
  encodeClosePayload,
  encodedHeaderLength,
  encodeFrame,
  encodeFrameHeader,
  FrameError,
  maskBytes,
  OPCODE_BINARY,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
} from "../../lib/websocket/frame.ts";
import { Prng } from "../util/netem.ts";

const hello = new TextEncoder().encode("Hello");
const RFC_MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("frames: the examples of RFC 6455 §5.7, byte for byte", () => {
  // A single-frame unmasked text message
  assert.deepEqual(encodeFrame(OPCODE_TEXT, hello), bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f));
  // A single-frame masked text message
  const masked = bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
  assert.deepEqual(encodeFrame(OPCODE_TEXT, hello, { mask: RFC_MASK }), masked);
  const [header, at] = decodeFrameHeader(masked)!;
  assert.deepEqual(header, { fin: true, rsv: 0, opcode: OPCODE_TEXT, mask: RFC_MASK, payloadLength: 5 });
  const payload = masked.slice(at);
  maskBytes(payload, header.mask!, 0);
  assert.deepEqual(payload, hello);
  // A fragmented unmasked text message: "Hel", then "lo"
  assert.deepEqual(
    encodeFrame(OPCODE_TEXT, hello.subarray(0, 3), { fin: false }),
    bytes(0x01, 0x03, 0x48, 0x65, 0x6c),
  );
  assert.deepEqual(encodeFrame(0, hello.subarray(3), { fin: true }), bytes(0x80, 0x02, 0x6c, 0x6f));
  // Unmasked ping, masked pong
  assert.deepEqual(encodeFrame(OPCODE_PING, hello), bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f));
  assert.deepEqual(
    encodeFrame(OPCODE_PONG, hello, { mask: RFC_MASK }),
    bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58),
  );
  // 256 bytes binary in a single unmasked frame: 16-bit length
  const b256 = encodeFrame(OPCODE_BINARY, new Uint8Array(256));
  assert.deepEqual(b256.subarray(0, 4), bytes(0x82, 0x7e, 0x01, 0x00));
  assert.equal(b256.length, 4 + 256);
  // 64 KiB binary in a single unmasked frame: 64-bit length
  const b64k = encodeFrame(OPCODE_BINARY, new Uint8Array(65536));
  assert.deepEqual(b64k.subarray(0, 10), bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0));
  assert.equal(decodeFrameHeader(b64k)![0].payloadLength, 65536);
});

Deno.test("frames: headers need all their bytes; lengths at the form boundaries; a 2^63 length refused", () => {
  const frame = encodeFrame(OPCODE_BINARY, new Uint8Array(70_000), { mask: RFC_MASK });
  for (let n = 0; n < 14; n++) assert.equal(decodeFrameHeader(frame.subarray(0, n)), null, `${n} bytes`);
  assert.equal(decodeFrameHeader(frame.subarray(0, 14))![1], 14);
  for (const length of [0, 125, 126, 65535, 65536]) {
    const encoded = encodeFrame(OPCODE_BINARY, new Uint8Array(length));
    assert.equal(decodeFrameHeader(encoded)![0].payloadLength, length);
    assert.equal(decodeFrameHeader(encoded)![1], encodedHeaderLength(length, false));
  }
  assert.throws(
    () => decodeFrameHeader(bytes(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1)),
    (error) => error instanceof FrameError && error.closeCode === 1009,
  );
});

Deno.test("maskBytes: any split and alignment gives the same bytes as one pass", () => {
  const prng = new Prng(6455);
  for (let round = 0; round < 200; round++) {
    const data = prng.bytes(1 + prng.below(300));
    const mask = prng.bytes(4);
    const expected = data.map((byte, i) => byte ^ mask[i % 4]);
    const buffer = new Uint8Array(data.length + 3);
    const offset = prng.below(4);
    const view = buffer.subarray(offset, offset + data.length);
    view.set(data);
    let phase = 0;
    for (let at = 0; at < view.length;) {
      const take = 1 + prng.below(40);
      phase = maskBytes(view.subarray(at, at + take), mask, phase);
      at += take;
    }
    assert.deepEqual(view, expected);
  }
});

Deno.test("close payloads: code and reason; malformed ones are FrameErrors with their close code", () => {
  assert.deepEqual(decodeClosePayload(new Uint8Array(0)), { code: null, reason: "" });
  assert.deepEqual(decodeClosePayload(encodeClosePayload(1000, "bye")), { code: 1000, reason: "bye" });
  assert.equal(encodeClosePayload(1009, "é".repeat(100)).length <= 125, true);
  decodeClosePayload(encodeClosePayload(1009, "é".repeat(100))); // cut on a character boundary
  const cases: [Uint8Array, number][] = [
    [bytes(0x03), 1002], // one byte: half a code
    [bytes(0x03, 0xed), 1002], // 1005 never appears on the wire
    [bytes(0x03, 0xee), 1002], // 1006 neither
    [bytes(0x03, 0xe7), 1002], // 999: below the range
    [bytes(0x13, 0x88), 1002], // 5000: above it
    [bytes(0x03, 0xe8, 0xff), 1007], // reason not UTF-8
  ];
  for (const [payload, code] of cases) {
    assert.throws(() => decodeClosePayload(payload), (e) => e instanceof FrameError && e.closeCode === code);
  }
});

Deno.test("fuzz: headers re-encode to the same bytes; random bytes decode or say they need more, never throw otherwise", () => {
  const prng = new Prng(13);
  for (let round = 0; round < 2000; round++) {
    const lengths = [prng.below(126), 126 + prng.below(65536 - 126), 65536 + prng.below(1 << 24)];
    const header = {
      fin: prng.below(2) === 1,
      rsv: prng.below(8),
      opcode: prng.below(16),
      mask: prng.below(2) ? prng.bytes(4) : null,
      payloadLength: lengths[prng.below(3)],
    };
    const out = new Uint8Array(14);
    const end = encodeFrameHeader(header, out, 0);
    assert.equal(end, encodedHeaderLength(header.payloadLength, header.mask !== null));
    const decoded = decodeFrameHeader(out.subarray(0, end))!;
    assert.deepEqual(decoded, [header, end]);
    const again = new Uint8Array(14);
    assert.equal(encodeFrameHeader(decoded[0], again, 0), end);
    assert.deepEqual(again.subarray(0, end), out.subarray(0, end));
  }
  for (let round = 0; round < 5000; round++) {
    const bytes = prng.bytes(prng.below(16));
    try {
      decodeFrameHeader(bytes);
    } catch (error) {
      assert.ok(error instanceof FrameError, String(error));
    }
  }
});
