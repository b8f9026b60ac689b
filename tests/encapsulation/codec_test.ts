import assert from "node:assert/strict";
import {
  encodeData,
  encodePadding,
  MAX_CHUNK_LENGTH,
  maxDataForSize,
  prefixLength,
} from "../../lib/encapsulation/codec.ts";
import { EncapsulationError } from "../../lib/encapsulation/error.ts";
import { fromHex, toHex } from "../../lib/util/bytes.ts";

Deno.test("data prefixes, SNOWFLAKE-PROTOCOL.md §2.6", () => {
  const rows: [number, string][] = [
    [0, "80"],
    [1, "81"],
    [24, "98"], // empty KCP ACK-size packet
    [63, "bf"],
    [64, "c040"],
    [100, "c064"],
    [1400, "ca78"], // max KCP packet
    [8191, "ff7f"],
    [8192, "c0c000"],
    [1048575, "ffff7f"],
  ];
  for (const [length, prefix] of rows) {
    const packet = new Uint8Array(length).fill(0x58);
    const encoded = encodeData(packet);
    assert.equal(toHex(encoded.subarray(0, prefix.length / 2)), prefix, `length ${length}`);
    assert.equal(encoded.length, prefix.length / 2 + length);
    assert.deepEqual(encoded.subarray(prefix.length / 2), packet);
    assert.equal(prefixLength(length), prefix.length / 2);
  }
});

Deno.test("data of 1048576 bytes is ErrTooLong, §2.2", () => {
  assert.throws(
    () => encodeData(new Uint8Array(MAX_CHUNK_LENGTH + 1)),
    (error) => error instanceof EncapsulationError && error.code === "too-long",
  );
});

Deno.test("padding, SNOWFLAKE-PROTOCOL.md §2.6", () => {
  const zeros = (n: number) => "00".repeat(n);
  const rows: [number, string][] = [
    [0, ""],
    [1, "00"],
    [2, "01" + zeros(1)],
    [64, "3f" + zeros(63)],
    [65, "403f" + zeros(63)],
    [66, "4040" + zeros(64)],
    [100, "4062" + zeros(98)],
    [1024, "477e" + zeros(1022)],
    [1025, "477e" + zeros(1022) + "00"], // a 1024-byte piece, then zero-length padding
  ];
  for (const [total, hex] of rows) assert.deepEqual(encodePadding(total), fromHex(hex), `total ${total}`);
  assert.equal(encodePadding(5000).length, 5000);
  assert.throws(() => encodePadding(-1), RangeError);
});

Deno.test("maxDataForSize, SNOWFLAKE-PROTOCOL.md §2.5", () => {
  const rows: [number, number][] = [
    [0x1, 0x0],
    [0x2, 0x1],
    [0x3f, 0x3e],
    [0x40, 0x3e],
    [0x41, 0x3f],
    [0x1fff, 0x1ffd],
    [0x2000, 0x1ffd],
    [0x2001, 0x1ffe],
    [0xfffff, 0xffffc],
    [0x100000, 0xffffc],
  ];
  for (const [size, max] of rows) assert.equal(maxDataForSize(size), max, `size ${size.toString(16)}`);
  assert.throws(() => maxDataForSize(0), RangeError); // Go panics
  // The answer always fits: encoding that much data takes at most `size` bytes.
  for (const size of [1, 2, 63, 64, 65, 66, 8191, 8192, 8193, 8194, 1048575, 1048576, 1 << 30]) {
    assert.ok(encodeData(new Uint8Array(maxDataForSize(size))).length <= size, `size ${size}`);
  }
});
