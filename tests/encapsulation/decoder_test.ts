import assert from "node:assert/strict";
import { encodeData, encodePadding } from "../../lib/encapsulation/codec.ts";
import { EncapsulationDecoder } from "../../lib/encapsulation/decoder.ts";
import { EncapsulationError } from "../../lib/encapsulation/error.ts";
import { concat, fromHex } from "../../lib/util/bytes.ts";
import { prng } from "../support/random.ts";

type Outcome = { packets: Uint8Array[]; end: "eof" | EncapsulationError["code"] };

/** Decodes `input` fed in pieces cut at `cuts` (ascending offsets); any throw other than EncapsulationError escapes. */
function decode(input: Uint8Array, cuts: number[] = [], maxPacketSize?: number): Outcome {
  const decoder = new EncapsulationDecoder({ maxPacketSize });
  const packets: Uint8Array[] = [];
  try {
    let start = 0;
    for (const cut of [...cuts, input.length]) {
      decoder.push(input.subarray(start, cut));
      start = cut;
      for (let packet; (packet = decoder.next()) !== null;) packets.push(packet);
    }
    decoder.end();
    return { packets, end: "eof" };
  } catch (error) {
    if (!(error instanceof EncapsulationError)) throw error;
    return { packets, end: error.code };
  }
}

/** Every way of cutting `input` in two, plus one byte at a time: all must decode like the whole. */
function assertAnySplit(input: Uint8Array, expected: Outcome, label: string): void {
  assert.deepEqual(decode(input), expected, `${label}, whole`);
  for (let cut = 0; cut <= input.length; cut++) {
    assert.deepEqual(decode(input, [cut]), expected, `${label}, cut ${cut}`);
  }
  const bytewise = Array.from({ length: input.length }, (_, i) => i);
  assert.deepEqual(decode(input, bytewise), expected, `${label}, byte by byte`);
}

const X = 0x58; // 'X'

Deno.test("reader vectors, SNOWFLAKE-PROTOCOL.md §2.6 and Go's encapsulation_test.go, at every split", () => {
  const unexpectedEof: number[][] = [
    [0x40], // expecting a second length byte
    [0xc0], // expecting a second length byte
    [0x41, 0x80], // expecting a third length byte
    [0xc1, 0x80], // expecting a third length byte
    [0x02], // expecting 2 bytes of padding
    [0x82], // expecting 2 bytes of data
    [0x02, X], // expecting 1 byte of padding
    [0x82, X], // expecting 1 byte of data
    [0x41, 0x00], // expecting 128 bytes of padding
    [0xc1, 0x00], // expecting 128 bytes of data
    [0x41, 0x00, X], // expecting 127 bytes of padding
    [0xc1, 0x00, X], // expecting 127 bytes of data
    [0x41, 0x80, 0x00], // expecting 32768 bytes of padding
    [0xc1, 0x80, 0x00], // expecting 32768 bytes of data
    [0x41, 0x80, 0x00, X], // expecting 32767 bytes of padding
    [0xc1, 0x80, 0x00, X], // expecting 32767 bytes of data
  ];
  for (const row of unexpectedEof) {
    assertAnySplit(new Uint8Array(row), { packets: [], end: "unexpected-eof" }, `[${row}]`);
  }
  const tooLong: number[][] = [
    [0xc0, 0xc0, 0x80, 0x80], // a fourth prefix byte (would encode 0x100000)
    [0xc0, 0x80, 0x80, 0x80], // a fourth prefix byte (would encode 0)
    [0x40, 0xc0, 0x80, 0x80], // the same for padding
    [0x40, 0x80, 0x80, 0x80], // the same for padding
    [0xc0, 0x80, 0x80], // third byte has its continuation bit: fails without a fourth byte
  ];
  for (const row of tooLong) {
    assertAnySplit(new Uint8Array(row), { packets: [], end: "too-long" }, `[${row}]`);
  }
  assertAnySplit(new Uint8Array(0), { packets: [], end: "eof" }, "empty input is a clean end");
});

Deno.test("non-minimal prefixes are accepted, §2.1", () => {
  const hello = new TextEncoder().encode("X");
  for (const hex of ["8158", "c00158", "c0800158"]) {
    assertAnySplit(fromHex(hex), { packets: [hello], end: "eof" }, hex);
  }
  assertAnySplit(fromHex("80c000c08000"), {
    packets: [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)],
    end: "eof",
  }, "empty data");
});

Deno.test("maximum padding then data, §2.6: 7f ff 7f + 1048575 bytes, never buffered", () => {
  const decoder = new EncapsulationDecoder();
  decoder.push(fromHex("7fff7f"));
  assert.equal(decoder.next(), null);
  const piece = new Uint8Array(65536).fill(X);
  let left = 0xfffff;
  while (left > 0) {
    const n = Math.min(left, piece.length);
    decoder.push(piece.subarray(0, n));
    left -= n;
    assert.equal(decoder.next(), null);
    assert.equal(decoder.bufferedBytes, 0, "padding is skipped as it arrives");
  }
  decoder.push(encodeData(new TextEncoder().encode("hello")));
  assert.deepEqual(decoder.next(), new TextEncoder().encode("hello"));
  assert.equal(decoder.next(), null);
  decoder.end();

  // The same in one push: the padding is skipped by the same next() call.
  const whole = concat([fromHex("7fff7f"), new Uint8Array(0xfffff), fromHex("8158")]);
  assert.deepEqual(decode(whole), { packets: [new Uint8Array([X])], end: "eof" });
});

Deno.test("maximum data chunk: 1048575 bytes decode; maxPacketSize refuses longer data before its body", () => {
  const max = new Uint8Array(0xfffff).fill(X);
  assert.deepEqual(decode(encodeData(max), [1, 2, 3, 70000]), { packets: [max], end: "eof" });

  const decoder = new EncapsulationDecoder({ maxPacketSize: 1500 });
  decoder.push(encodeData(new Uint8Array(1500)));
  assert.equal(decoder.next()?.length, 1500);
  decoder.push(encodePadding(100_000)); // padding is not limited
  assert.equal(decoder.next(), null);
  decoder.push(fromHex("ffff7f")); // a 1048575-byte data chunk announced: refused at once
  assert.throws(() => decoder.next(), (e) => e instanceof EncapsulationError && e.code === "over-limit");
  assert.equal(decoder.bufferedBytes, 0);
  // Errors are sticky: the stream is over.
  assert.throws(() => decoder.push(new Uint8Array(1)), EncapsulationError);
  assert.throws(() => decoder.next(), EncapsulationError);
  assert.throws(() => decoder.end(), EncapsulationError);
});

Deno.test("round trip: random packets and padding, random splits", () => {
  const random = prng(2);
  const sizes = [0, 1, 63, 64, 1400, 8191, 8192, 70000];
  for (let round = 0; round < 50; round++) {
    const packets: Uint8Array[] = [];
    const parts: Uint8Array[] = [];
    const count = 1 + Math.floor(random() * 20);
    for (let i = 0; i < count; i++) {
      if (random() < 0.3) parts.push(encodePadding(Math.floor(random() * 3000)));
      const size = random() < 0.3 ? sizes[Math.floor(random() * sizes.length)] : Math.floor(random() * 2000);
      const packet = new Uint8Array(size).map(() => random() * 256);
      packets.push(packet);
      parts.push(encodeData(packet));
    }
    const input = concat(parts);
    const cuts = Array.from({ length: Math.floor(random() * 30) }, () => Math.floor(random() * input.length))
      .sort((a, b) => a - b);
    assert.deepEqual(decode(input, cuts), { packets, end: "eof" }, `round ${round}`);
  }
});

Deno.test("fuzz: random bytes in random splits end only in our typed errors", () => {
  const random = prng(1);
  const ends = new Map<string, number>();
  for (let round = 0; round < 3000; round++) {
    const input = new Uint8Array(Math.floor(random() * 300)).map(() => random() * 256);
    // Bias some rounds towards short lengths, so that complete chunks occur too.
    if (round % 2) { for (let i = 0; i < input.length; i++) if (input[i] & 0x40) input[i] &= 0x87; }
    const cuts = Array.from({ length: Math.floor(random() * 8) }, () => Math.floor(random() * input.length))
      .sort((a, b) => a - b);
    const limit = round % 3 === 0 ? 20 : undefined;
    const outcome = decode(input, cuts, limit); // throws (fails the test) on anything but EncapsulationError
    assert.deepEqual(outcome, decode(input, [], limit), "the split does not matter");
    ends.set(outcome.end, (ends.get(outcome.end) ?? 0) + 1);
  }
  // Every way of ending was exercised, so the fuzz reaches each branch.
  assert.deepEqual([...ends.keys()].sort(), ["eof", "over-limit", "too-long", "unexpected-eof"]);
});
