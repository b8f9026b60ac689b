import assert from "node:assert/strict";
import {
  decodeFrame,
  decodeUpdPayload,
  encodedFrameLength,
  encodeFrame,
  encodeUpdPayload,
  type Frame,
  FRAME_HEADER_SIZE,
  makeFrame,
  SmuxCmd,
} from "../../lib/smux/frame.ts";
import { SmuxError } from "../../lib/smux/error.ts";
import { fromHex, toHex } from "../../lib/util/bytes.ts";
import { prng, randomBytes } from "./helpers.ts";

function encode(frame: Frame): Uint8Array {
  const out = new Uint8Array(encodedFrameLength(frame));
  assert.equal(encodeFrame(frame, out, 0), out.length);
  return out;
}

const hello = new TextEncoder().encode("hello");

/** [name, frame, hex] from KCP-SMUX.md §9.1 (captured) and §9.2 (derived). */
const GOLDEN: [string, Frame, string][] = [
  ["§9.1 SYN, sid 3", makeFrame(2, SmuxCmd.SYN, 3), "02 00 00 00 03 00 00 00"],
  ["§9.1 SYN, sid 5", makeFrame(2, SmuxCmd.SYN, 5), "02 00 00 00 05 00 00 00"],
  ["§9.1 PSH, sid 3, hello", makeFrame(2, SmuxCmd.PSH, 3, hello), "02 02 05 00 03 00 00 00 68 65 6c 6c 6f"],
  ["§9.1 FIN, sid 3", makeFrame(2, SmuxCmd.FIN, 3), "02 01 00 00 03 00 00 00"],
  ["§9.1 NOP", makeFrame(2, SmuxCmd.NOP, 0), "02 03 00 00 00 00 00 00"],
  [
    "§9.1 UPD, sid 3, consumed 5, window 1048576",
    makeFrame(2, SmuxCmd.UPD, 3, encodeUpdPayload(5, 1048576)),
    "02 04 08 00 03 00 00 00 05 00 00 00 00 00 10 00",
  ],
  [
    "§9.1 UPD, sid 3, consumed 3, window 1048576",
    makeFrame(2, SmuxCmd.UPD, 3, encodeUpdPayload(3, 1048576)),
    "02 04 08 00 03 00 00 00 03 00 00 00 00 00 10 00",
  ],
  [
    "§9.2 UPD, sid 5, consumed 0x12345, window 65536",
    makeFrame(2, SmuxCmd.UPD, 5, encodeUpdPayload(0x12345, 65536)),
    "02 04 08 00 05 00 00 00 45 23 01 00 00 00 01 00",
  ],
  ["§9.2 v1 SYN, sid 3", makeFrame(1, SmuxCmd.SYN, 3), "01 00 00 00 03 00 00 00"],
  ["§9.2 server-opened SYN, sid 2", makeFrame(2, SmuxCmd.SYN, 2), "02 00 00 00 02 00 00 00"],
];

for (const [name, frame, hex] of GOLDEN) {
  Deno.test(`smux frame ${name}, KCP-SMUX.md`, () => {
    assert.equal(toHex(encode(frame)), hex.replaceAll(" ", ""));
    const decoded = decodeFrame(fromHex(hex), 0);
    assert.ok(decoded);
    assert.deepEqual(decoded[0], frame);
    assert.equal(decoded[1], fromHex(hex).length);
  });
}

/** §9.1 headers of big PSH frames (payload elided in the document). */
const GOLDEN_HEADERS: [string, number, string][] = [
  ["§9.1 PSH header, sid 3, length 32768", 32768, "02 02 00 80 03 00 00 00"],
  ["§9.1 PSH header, sid 3, length 32763", 32763, "02 02 fb 7f 03 00 00 00"],
  ["§9.2 PSH header, sid 3, length 300", 300, "02 02 2c 01 03 00 00 00"],
];

for (const [name, length, hex] of GOLDEN_HEADERS) {
  Deno.test(`smux frame ${name}, KCP-SMUX.md`, () => {
    const bytes = encode(makeFrame(2, SmuxCmd.PSH, 3, new Uint8Array(length).fill(0xab)));
    assert.equal(toHex(bytes.subarray(0, FRAME_HEADER_SIZE)), hex.replaceAll(" ", ""));
    assert.equal(decodeFrame(bytes.subarray(0, bytes.length - 1)), null, "one byte short: incomplete");
    assert.equal(decodeFrame(bytes)?.[0].payload.length, length);
  });
}

Deno.test("smux UPD payload round-trips u32 values", () => {
  assert.deepEqual(decodeUpdPayload(encodeUpdPayload(0xffffffff, 0x80000000)), {
    consumed: 0xffffffff,
    window: 0x80000000,
  });
});

Deno.test("smux decodeFrame: malformed and partial shapes", () => {
  const rows: [number[], "incomplete" | "unknown-command" | Partial<Frame>][] = [
    [[], "incomplete"],
    [[0x02, 0x02, 0x05, 0x00, 0x03, 0x00, 0x00], "incomplete"], // expecting an 8th header byte
    [[0x02, 0x02, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00, 0x68], "incomplete"], // PSH of 5 with 1 payload byte
    [[0x02, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7], "incomplete"], // UPD: always 8 bytes
    [[0x02, 0x05, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00], "unknown-command"], // cmd 5 does not exist
    [[0x02, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], "unknown-command"],
    // SYN with length 3: Go does not consume the payload, so the frame is the 8-byte header.
    [[0x02, 0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 9, 9, 9], {
      cmd: SmuxCmd.SYN,
      length: 3,
      payload: new Uint8Array(0),
    }],
    // UPD with length 0 still carries 8 payload bytes.
    [[0x02, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 5, 0, 0, 0, 0, 0, 16, 0], {
      cmd: SmuxCmd.UPD,
      length: 0,
      payload: encodeUpdPayload(5, 1048576),
    }],
    // Version 9 decodes: the session, not the codec, rejects versions.
    [[0x09, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], { version: 9, cmd: SmuxCmd.NOP }],
  ];
  for (const [bytes, expected] of rows) {
    const input = new Uint8Array(bytes);
    if (expected === "incomplete") {
      assert.equal(decodeFrame(input), null, toHex(input));
    } else if (expected === "unknown-command") {
      assert.throws(() => decodeFrame(input), (e) => e instanceof SmuxError && e.code === "unknown-command");
    } else {
      const decoded = decodeFrame(input);
      assert.ok(decoded, toHex(input));
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(decoded[0][key as keyof Frame], value, `${key} of ${toHex(input)}`);
      }
    }
  }
});

Deno.test("smux decodeFrame fuzz: random bytes give a frame, null or SmuxError; canonical frames re-encode", () => {
  const random = prng(0x5eed);
  let frames = 0;
  for (let round = 0; round < 20_000; round++) {
    const bytes = randomBytes(random, (random() * 24) | 0);
    // Bias the cmd and length bytes towards valid values so that all paths run.
    if (bytes.length > 1 && random() < 0.7) bytes[1] = (random() * 5) | 0;
    if (bytes.length > 3 && random() < 0.7) bytes[2] = (random() * 12) | 0, bytes[3] = 0;
    let decoded: [Frame, number] | null;
    try {
      decoded = decodeFrame(bytes);
    } catch (error) {
      assert.ok(error instanceof SmuxError, String(error));
      continue;
    }
    if (decoded === null) continue;
    frames++;
    const [frame, next] = decoded;
    assert.ok(next <= bytes.length);
    if (frame.length === frame.payload.length) {
      assert.deepEqual(encode(frame), bytes.subarray(0, next));
    }
  }
  assert.ok(frames > 1000, `only ${frames} frames decoded`);
});
