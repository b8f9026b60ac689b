import assert from "node:assert/strict";
import {
  CMD_ACK,
  CMD_PUSH,
  CMD_WASK,
  CMD_WINS,
  decodePacket,
  decodeSegment,
  encodedLength,
  encodeSegment,
  type Segment,
} from "../../lib/kcp/segment.ts";
import { KcpError } from "../../lib/kcp/error.ts";
import { fromHex, toHex } from "../../lib/util/bytes.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** The single-segment vectors of KCP-SMUX.md §6, with the fields they encode. */
const VECTORS: [string, Segment, string][] = [
  [
    "K1 PUSH hello",
    { conv: 0x11223344, cmd: CMD_PUSH, frg: 0, wnd: 65535, ts: 1000, sn: 0, una: 0, data: text("hello") },
    "44 33 22 11 51 00 ff ff e8 03 00 00 00 00 00 00 00 00 00 00 05 00 00 00 68 65 6c 6c 6f",
  ],
  [
    "K2 ACK for K1",
    { conv: 0x11223344, cmd: CMD_ACK, frg: 0, wnd: 65534, ts: 1000, sn: 0, una: 1, data: new Uint8Array() },
    "44 33 22 11 52 00 fe ff e8 03 00 00 00 00 00 00 01 00 00 00 00 00 00 00",
  ],
  [
    "K3 WASK",
    { conv: 0x11223344, cmd: CMD_WASK, frg: 0, wnd: 32, ts: 0, sn: 0, una: 7, data: new Uint8Array() },
    "44 33 22 11 53 00 20 00 00 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00",
  ],
  [
    "K4 WINS",
    { conv: 0x11223344, cmd: CMD_WINS, frg: 0, wnd: 65535, ts: 0, sn: 0, una: 7, data: new Uint8Array() },
    "44 33 22 11 54 00 ff ff 00 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00",
  ],
  [
    "K5 message-mode fragment",
    { conv: 0xa1b2c3d4, cmd: CMD_PUSH, frg: 2, wnd: 32, ts: 0x12345, sn: 10, una: 3, data: text("abc") },
    "d4 c3 b2 a1 51 02 20 00 45 23 01 00 0a 00 00 00 03 00 00 00 03 00 00 00 61 62 63",
  ],
  [
    "K6 wrap-around values",
    {
      conv: 0xffffffff,
      cmd: CMD_PUSH,
      frg: 0,
      wnd: 256,
      ts: 0xfffffff0,
      sn: 0xffffffff,
      una: 0x80000000,
      data: new Uint8Array([0xff]),
    },
    "ff ff ff ff 51 00 00 01 f0 ff ff ff ff ff ff ff 00 00 00 80 01 00 00 00 ff",
  ],
  [
    "K7 Snowflake client's first packet (smux SYN)",
    {
      conv: 0x0badcafe,
      cmd: CMD_PUSH,
      frg: 0,
      wnd: 65535,
      ts: 0x2a,
      sn: 0,
      una: 0,
      data: fromHex("0200000003000000"),
    },
    "fe ca ad 0b 51 00 ff ff 2a 00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 02 00 00 00 03 00 00 00",
  ],
  [
    "K9 PUSH carrying smux PSH hello",
    {
      conv: 0x0badcafe,
      cmd: CMD_PUSH,
      frg: 0,
      wnd: 65535,
      ts: 0x66,
      sn: 1,
      una: 0,
      data: fromHex("02020500030000006865 6c6c6f"),
    },
    "fe ca ad 0b 51 00 ff ff 66 00 00 00 01 00 00 00 00 00 00 00 0d 00 00 00 02 02 05 00 03 00 00 00 68 65 6c 6c 6f",
  ],
];

for (const [name, segment, hex] of VECTORS) {
  Deno.test(`KCP segment ${name}, KCP-SMUX.md §6: encodes and decodes byte for byte`, () => {
    const wire = fromHex(hex);
    const out = new Uint8Array(encodedLength(segment));
    assert.equal(encodeSegment(segment, out), wire.length);
    assert.equal(toHex(out), toHex(wire));
    const [decoded, next] = decodeSegment(wire);
    assert.equal(next, wire.length);
    assert.deepEqual({ ...decoded, data: toHex(decoded.data) }, { ...segment, data: toHex(segment.data) });
  });
}

Deno.test("KCP K8, KCP-SMUX.md §6: ACK then PUSH in one packet decode in order", () => {
  const wire = fromHex(
    "fe ca ad 0b 52 00 ff ff 64 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00" +
      "fe ca ad 0b 51 00 ff ff 65 00 00 00 00 00 00 00 02 00 00 00 10 00 00 00" +
      "02 04 08 00 03 00 00 00 05 00 00 00 00 00 10 00",
  );
  const [ack, push] = decodePacket(wire);
  assert.deepEqual([ack.cmd, ack.wnd, ack.ts, ack.sn, ack.una, ack.data.length], [
    CMD_ACK,
    65535,
    0x64,
    1,
    2,
    0,
  ]);
  assert.deepEqual([push.cmd, push.ts, push.sn, push.una], [CMD_PUSH, 0x65, 0, 2]);
  assert.equal(toHex(push.data), "02040800030000000500000000001000");
  const out = new Uint8Array(wire.length);
  encodeSegment(push, out, encodeSegment(ack, out, 0));
  assert.equal(toHex(out), toHex(wire));
});

Deno.test("KCP negative vectors, KCP-SMUX.md §6: the decoder stops where kcp-go's Input does", () => {
  const k1 = "44 33 22 11 51 00 ff ff e8 03 00 00 00 00 00 00 00 00 00 00 05 00 00 00 68 65 6c 6c 6f";
  const cases: [string, string, string][] = [
    // [what, hex, expected code]
    [
      "a 23-byte packet",
      "44 33 22 11 51 00 ff ff e8 03 00 00 00 00 00 00 00 00 00 00 05 00 00",
      "short-packet",
    ],
    ["cmd 99", "44 33 22 11 63 00 ff ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", "bad-command"],
    ["len 3 but 2 data bytes", k1.slice(0, -9).replace("05 00 00 00 68", "03 00 00 00 68"), "bad-length"],
    [
      "len 0xffffffff",
      "44 33 22 11 51 00 ff ff 00 00 00 00 00 00 00 00 00 00 00 00 ff ff ff ff",
      "bad-length",
    ],
    [
      "a good segment, then a bad cmd",
      k1 + "44 33 22 11 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
      "bad-command",
    ],
  ];
  for (const [what, hex, code] of cases) {
    assert.throws(() => decodePacket(fromHex(hex)), (e) => e instanceof KcpError && e.code === code, what);
  }
  // trailing bytes under a header after a segment are ignored, as in kcp-go
  assert.equal(decodePacket(fromHex(k1 + "00 01 02")).length, 1);
});

Deno.test("KCP encodeSegment refuses a buffer that is too short", () => {
  const segment = VECTORS[0][1];
  assert.throws(() => encodeSegment(segment, new Uint8Array(28)), RangeError);
});
