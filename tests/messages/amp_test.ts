import assert from "node:assert/strict";
import { Prng } from "../util/netem.ts";
import {
  AMP_BOILERPLATE_END,
  AMP_BOILERPLATE_START,
  AMP_BYTES_PER_CHUNK,
  AMP_CHUNKS_PER_ELEMENT,
  AMP_ELEMENT_SIZE_LIMIT,
  decodeAmpArmor,
  encodeAmpArmor,
} from "../../lib/messages/amp_armor.ts";
import { decodeAmpPath, encodeAmpPath } from "../../lib/messages/amp_path.ts";
import { MessageError } from "../../lib/messages/errors.ts";
import { randomBytes } from "../support/random.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("AMP armor, SNOWFLAKE-PROTOCOL.md §5.4 vector (common/amp/doc.go)", () => {
  const expected = AMP_BOILERPLATE_START +
    "<pre>\n0VGhpcyB3YXMgZW5jb2RlZCB3aXRoIEF\nNUCBhcm1vci4=\n</pre>\n</body>\n</html>";
  assert.equal(encodeAmpArmor(enc("This was encoded with AMP armor.")), expected);
  assert.equal(dec(decodeAmpArmor(expected)), "This was encoded with AMP armor.");
  assert.equal(AMP_CHUNKS_PER_ELEMENT, 992);
});

Deno.test("AMP armor: chunk and element boundaries follow Go's elementEncoder", () => {
  // 23 bytes: 32 base64 characters; with the "0" a full chunk plus one character.
  assert.equal(
    encodeAmpArmor(new Uint8Array(23).fill(1)).slice(AMP_BOILERPLATE_START.length),
    "<pre>\n0AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\n=\n</pre>\n" + AMP_BOILERPLATE_END,
  );
  // A stream longer than 992 chunks: the first <pre> holds exactly 992 lines, then a new one opens.
  const data = new Uint8Array(30_000);
  const armored = encodeAmpArmor(data).slice(AMP_BOILERPLATE_START.length);
  const elements = armored.split("<pre>\n").slice(1).map((e) => e.slice(0, e.indexOf("</pre>")));
  assert.equal(elements.length, 2);
  assert.equal(elements[0].split("\n").length - 1, AMP_CHUNKS_PER_ELEMENT);
  assert.ok(elements[0].split("\n").slice(0, -1).every((line) => line.length === AMP_BYTES_PER_CHUNK));
  assert.deepEqual(decodeAmpArmor(AMP_BOILERPLATE_START + armored), data);
});

Deno.test("AMP armor: round trip around the element size limit (common/amp/armor_test.go lengths)", () => {
  const prng = new Prng(5);
  const random = () => prng.next();
  const lengths: number[] = [];
  for (let i = 0; i < AMP_BYTES_PER_CHUNK * 2; i++) lengths.push(i);
  for (let i = -10; i < 10; i++) lengths.push(AMP_ELEMENT_SIZE_LIMIT + i, 2 * AMP_ELEMENT_SIZE_LIMIT + i);
  for (const n of lengths) {
    const data = randomBytes(random, n);
    const armored = encodeAmpArmor(data);
    assert.deepEqual(decodeAmpArmor(armored), data, `length ${n}`);
    for (const element of armored.split("<pre>").slice(1)) {
      assert.ok(element.indexOf("</pre>") < AMP_ELEMENT_SIZE_LIMIT, `length ${n}: element too long`);
    }
  }
});

Deno.test("AMP armor decoder: common/amp/armor_test.go vectors", () => {
  const ok: [string, string][] = [
    ["\n<pre>\n0\n</pre>\n", ""],
    ["\n<pre>\n0aGVsbG8gd29ybGQK\n</pre>\n", "hello world\n"],
    // text outside <pre> elements is ignored
    [
      "\n0aGVsbG8gd29ybGQK\nblah blah blah\n<pre>\n0aGVsbG8gd29ybGQK\n</pre>\n0aGVsbG8gd29ybGQK\nblah blah blah\n",
      "hello world\n",
    ],
    // several elements, padding split across them
    [
      "\n<pre>\n0QUJDREV\nGR0hJSkt\nMTU5PUFF\nSU1RVVld\n</pre>\njunk\n<pre>\nYWVowMTI\nzNDU2Nzg\n5Cg\n=\n</pre>\n<pre>\n=\n</pre>\n",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n",
    ],
    // other elements inside <pre>: tags ignored, text kept
    ["blah <pre>0aGVsb<p>G8gd29</p>ybGQK</pre>", "hello world\n"],
    // all kinds of ASCII whitespace
    ["blah <pre>\x200\x09aG\x0aV\x0csb\x0dG8\x20gd29ybGQK</pre>", "hello world\n"],
    // character references are decoded (a tokenizer, not a regex)
    ["<pre>0aGVsbG8gd29ybGQK&#10;</pre>", "hello world\n"],
    // markup inside raw-text elements is not markup
    ["<style><pre></style><pre>0aGVsbG8gd29ybGQK</pre>", "hello world\n"],
  ];
  for (const [input, output] of ok) assert.equal(dec(decodeAmpArmor(input)), output, JSON.stringify(input));

  const bad: string[] = [
    "\n<pre>\n1aGVsbG8gd29ybGQK\n</pre>\n", // bad version indicator
    "\naGVsbG8gd29ybGQK\nblah blah blah\n", // no <pre> elements
    "\naGVsbG8gd29ybGQK\n<pre>   </pre>\naGVsbG8gd29ybGQK<pre></pre>\n", // empty <pre> elements
    "blah <!-- <pre>aGVsbG8gd29ybGQK</pre> -->", // HTML comment
    "\n<pre>\n0QUJDREV\nGR0hJSkt\nMTU5PUFF\nSU1RVVld\n</pre>\njunk\n<pre>\nYWVowMTI\nzNDU2Nzg\n5Cg\n=\n</pre>\n", // bad padding
    "blah <pre></pre><pre>0aGVsbG8gd29ybGQK", // missing </pre>
    "blah <pre>0aGVsb<pre>G8gd29</pre>ybGQK</pre>", // nested <pre>
    "blah </pre>", // stray </pre>
    "<pre>0" + "A".repeat(AMP_ELEMENT_SIZE_LIMIT + 4) + "</pre>", // token over the 32 KiB limit
  ];
  for (const input of bad) {
    assert.throws(() => decodeAmpArmor(input), MessageError, JSON.stringify(input.slice(0, 80)));
  }
});

Deno.test("AMP path: common/amp/path_test.go vectors", () => {
  const ok: [string, string][] = [
    ["0/", ""],
    ["0foobar/", ""],
    ["0/YWJj", "abc"],
    ["0///YWJj", "abc"],
    ["0foobar/YWJj", "abc"],
    ["0/foobar/YWJj", "abc"],
    ["0AAAAAAAAAAAA/MS4wCnt9", "1.0\n{}"], // SNOWFLAKE-PROTOCOL.md §5.2 example path
  ];
  for (const [path, data] of ok) assert.equal(dec(decodeAmpPath(path)), data, path);
  const bad: [string, string][] = [
    ["", "missing format indicator"],
    ["0", "missing data"],
    ["0foobar", "missing data"],
    ["/0/YWJj", "unknown format indicator '/'"],
  ];
  for (const [path, message] of bad) {
    assert.throws(
      () => decodeAmpPath(path),
      (e: unknown) => e instanceof MessageError && e.message === message,
    );
  }
  assert.throws(() => decodeAmpPath("0/YWJj="), MessageError); // padding is not allowed
  assert.throws(() => decodeAmpPath("0/YW+j"), MessageError); // std alphabet is not allowed
});

Deno.test("AMP path: round trip and layout", () => {
  for (const data of ["", "\x00", "/", "hello world", '1.0\n{"offer":"x"}']) {
    const path = encodeAmpPath(enc(data));
    assert.match(path, /^0[A-Za-z0-9_-]{12}\/[A-Za-z0-9_-]*$/);
    assert.equal(dec(decodeAmpPath(path)), data);
  }
  assert.equal(encodeAmpPath(enc("1.0\n{}"), new Uint8Array(9)), "0AAAAAAAAAAAA/MS4wCnt9");
});
