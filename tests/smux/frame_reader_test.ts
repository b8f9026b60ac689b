import assert from "node:assert/strict";
import { FrameReader } from "../../lib/smux/frame_reader.ts";
import {
  encodedFrameLength,
  encodeFrame,
  encodeUpdPayload,
  type Frame,
  makeFrame,
  SmuxCmd,
} from "../../lib/smux/frame.ts";
import { SmuxError } from "../../lib/smux/error.ts";
import { concat } from "../../lib/util/bytes.ts";
import { prng, randomBytes } from "./helpers.ts";

function encode(frames: Frame[]): Uint8Array {
  return concat(frames.map((frame) => {
    const out = new Uint8Array(encodedFrameLength(frame));
    encodeFrame(frame, out);
    return out;
  }));
}

function readAll(reader: FrameReader): Frame[] {
  const frames: Frame[] = [];
  for (let frame = reader.next(); frame !== null; frame = reader.next()) frames.push(frame);
  return frames;
}

const random = prng(7);
const FRAMES: Frame[] = [
  makeFrame(2, SmuxCmd.SYN, 3),
  makeFrame(2, SmuxCmd.PSH, 3, new TextEncoder().encode("hello")),
  makeFrame(2, SmuxCmd.UPD, 3, encodeUpdPayload(5, 1048576)),
  makeFrame(2, SmuxCmd.PSH, 3, randomBytes(random, 300)),
  makeFrame(2, SmuxCmd.NOP, 0),
  makeFrame(2, SmuxCmd.PSH, 5, randomBytes(random, 1)),
  makeFrame(2, SmuxCmd.FIN, 3),
];
const WIRE = encode(FRAMES);

Deno.test("smux FrameReader: a frame stream split at every byte boundary gives the same frames", () => {
  for (let cut = 0; cut <= WIRE.length; cut++) {
    const reader = new FrameReader(2);
    reader.push(WIRE.subarray(0, cut));
    const frames = readAll(reader);
    reader.push(WIRE.subarray(cut));
    frames.push(...readAll(reader));
    assert.deepEqual(frames, FRAMES, `cut at ${cut}`);
    assert.equal(reader.buffered, 0);
  }
});

Deno.test("smux FrameReader: one byte at a time, and random splits, give the same frames", () => {
  const reader = new FrameReader(2);
  const frames: Frame[] = [];
  for (let i = 0; i < WIRE.length; i++) {
    reader.push(WIRE.subarray(i, i + 1));
    frames.push(...readAll(reader));
  }
  assert.deepEqual(frames, FRAMES);

  const random = prng(99);
  for (let round = 0; round < 200; round++) {
    const reader = new FrameReader(2);
    const frames: Frame[] = [];
    for (let at = 0; at < WIRE.length;) {
      const n = 1 + ((random() * 40) | 0);
      reader.push(WIRE.slice(at, at + n));
      at += n;
      frames.push(...readAll(reader));
    }
    assert.deepEqual(frames, FRAMES, `round ${round}`);
  }
});

Deno.test("smux FrameReader: payloads that fill their chunk are views, small ones in big chunks are copies", () => {
  const big = makeFrame(2, SmuxCmd.PSH, 3, new Uint8Array(1000).fill(1));
  const small = makeFrame(2, SmuxCmd.PSH, 3, new Uint8Array(10).fill(2));
  const wire = encode([big, small]);
  const reader = new FrameReader(2);
  reader.push(wire);
  const [a, b] = readAll(reader);
  assert.equal(a.payload.buffer, wire.buffer, "view into the chunk");
  assert.notEqual(b.payload.buffer, wire.buffer, "copy: a 10-byte view would pin 1 KB");
  assert.deepEqual(b.payload, small.payload);
});

Deno.test("smux FrameReader: wrong version and unknown command throw SmuxError", () => {
  const v1 = new FrameReader(2);
  v1.push(encode([makeFrame(1, SmuxCmd.NOP, 0)])); // a v1 NOP on a v2 session (§8.12)
  assert.throws(() => v1.next(), (e) => e instanceof SmuxError && e.code === "invalid-version");

  const cmd = new FrameReader(2);
  cmd.push(new Uint8Array([2, 7, 0, 0, 0, 0, 0, 0]));
  assert.throws(() => cmd.next(), (e) => e instanceof SmuxError && e.code === "unknown-command");

  const partial = new FrameReader(2);
  partial.push(new Uint8Array([1, 0, 0])); // not yet a whole header: no verdict
  assert.equal(partial.next(), null);
});

Deno.test("smux FrameReader: a SYN's payload is not consumed (Go reads the next header from it)", () => {
  const reader = new FrameReader(2);
  // SYN sid 3 claiming length 8, followed by 8 bytes that form a NOP.
  reader.push(new Uint8Array([2, 0, 8, 0, 3, 0, 0, 0, 2, 3, 0, 0, 0, 0, 0, 0]));
  const frames = readAll(reader);
  assert.deepEqual(frames.map((f) => f.cmd), [SmuxCmd.SYN, SmuxCmd.NOP]);
});

Deno.test("smux FrameReader fuzz: random bytes in random chunks give frames or SmuxError, never a hang", () => {
  const random = prng(1234);
  let errors = 0;
  for (let round = 0; round < 2000; round++) {
    const reader = new FrameReader(2);
    const bytes = randomBytes(random, (random() * 200) | 0);
    for (let i = 0; i < bytes.length; i++) {
      if (random() < 0.5) {
        bytes[i] = i % 8 === 0 ? 2 : (random() * 5) | 0;
      }
    }
    try {
      for (let at = 0; at < bytes.length;) {
        const n = 1 + ((random() * 30) | 0);
        reader.push(bytes.subarray(at, at + n));
        at += n;
        readAll(reader); // each call consumes a frame or returns null: bounded by the input
      }
    } catch (error) {
      assert.ok(error instanceof SmuxError, String(error));
      errors++;
    }
  }
  assert.ok(errors > 0 && errors < 2000, `errors ${errors}`);
});
