import assert from "node:assert/strict";
import { decodeGoStruct, goJsonObject, goJsonString } from "../../lib/messages/go_json.ts";
import {
  decodeBase64RawUrl,
  decodeBase64Std,
  encodeBase64RawUrl,
  encodeBase64Std,
} from "../../lib/messages/base64.ts";
import { NameMatcher } from "../../lib/messages/name_matcher.ts";
import {
  parseSessionDescription,
  serializeSessionDescription,
} from "../../lib/messages/session_description.ts";
import { MessageError } from "../../lib/messages/errors.ts";

Deno.test("Go JSON string escaping (SNOWFLAKE-PROTOCOL.md §4.12)", () => {
  assert.equal(goJsonString("a<b>&c"), '"a\\u003cb\\u003e\\u0026c"');
  assert.equal(goJsonString("\u2028\u2029"), '"\\u2028\\u2029"');
  assert.equal(goJsonString("\r\n\t\b\f\x01"), '"\\r\\n\\t\\u0008\\u000c\\u0001"');
  assert.equal(goJsonString('\\b"'), '"\\\\b\\""'); // an escaped backslash before "b" stays
  assert.equal(goJsonString("\ud800x"), '"\ufffdx"'); // unpaired surrogate → U+FFFD
  assert.equal(goJsonString("é😀"), '"é😀"');
  assert.equal(goJsonObject([["a", 1], ["b", "x"]]), '{"a":1,"b":"x"}');
});

Deno.test("Go JSON struct decoding: exact match preferred, case-insensitive fallback, unknown keys ignored", () => {
  const fields = { Sid: "string", Clients: "int" } as const;
  assert.deepEqual(decodeGoStruct('{"SID":"a","extra":[1,2],"clients":3}', fields), { Sid: "a", Clients: 3 });
  assert.deepEqual(decodeGoStruct('{"Sid":null}', fields), {});
  assert.deepEqual(decodeGoStruct("null", fields), {});
  assert.deepEqual(decodeGoStruct(' {"Sid":"a"} \n', fields), { Sid: "a" });
  assert.throws(() => decodeGoStruct('{"Sid":"a"} x', fields), MessageError);
  assert.throws(() => decodeGoStruct("5", fields), /cannot unmarshal number/);
});

Deno.test("base64 as Go's StdEncoding and RawURLEncoding", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x10]);
  assert.equal(encodeBase64Std(bytes), "+/+/ABA=");
  assert.equal(encodeBase64RawUrl(bytes), "-_-_ABA");
  assert.deepEqual(decodeBase64Std("+/+/ABA="), bytes);
  assert.deepEqual(decodeBase64Std("+/+/\r\nABA=\n"), bytes); // CR and LF are skipped, as in Go
  assert.deepEqual(decodeBase64RawUrl("-_-_ABA"), bytes);
  assert.deepEqual(decodeBase64Std("QR=="), new Uint8Array([0x41])); // leftover bits ignored (non-strict)
  for (const bad of ["QQ", "QQ=", "Q===", "QQ==QQ==", "Q Q=", "-_-_"]) {
    assert.throws(() => decodeBase64Std(bad), MessageError, bad);
  }
  for (const bad of ["QQ==", "Q", "+/"]) assert.throws(() => decodeBase64RawUrl(bad), MessageError, bad);
});

Deno.test("relay name matcher, SNOWFLAKE-PROTOCOL.md §4.9 computed checks", () => {
  const m = (rule: string) => new NameMatcher(rule);
  assert.ok(m("torproject.net$").isSupersetOf(m("snowflake.torproject.net$")));
  assert.ok(!m("snowflake.torproject.net$").isSupersetOf(m("torproject.net$")));
  assert.ok(m("").isSupersetOf(m("snowflake.torproject.net$")));
  assert.ok(m("^snowflake.torproject.net$").isSupersetOf(m("^snowflake.torproject.net$")));
  assert.ok(!m("^snowflake.torproject.net$").isSupersetOf(m("snowflake.torproject.net$")));
  assert.ok(m("snowflake.torproject.net$").isSupersetOf(m("^snowflake.torproject.net$")));
  assert.ok(m("snowflake.torproject.net$").isMember("evilsnowflake.torproject.net"));
  assert.ok(!m("^snowflake.torproject.net$").isMember("evilsnowflake.torproject.net"));
  assert.ok(NameMatcher.isValidRule("x$") && !NameMatcher.isValidRule("x"));
});

Deno.test("session descriptions: Go serialization and the broker's checks", () => {
  assert.equal(
    serializeSessionDescription({ type: "offer", sdp: "v=0\r\n" }),
    '{"type":"offer","sdp":"v=0\\r\\n"}',
  );
  assert.deepEqual(
    parseSessionDescription('{"type":"offer","sdp":"v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\n"}', "offer"),
    {
      type: "offer",
      sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n",
    },
  );
  const bad = [
    "not json",
    "[]",
    '{"sdp":"v=0\\r\\n"}',
    '{"type":1,"sdp":"v=0\\r\\n"}', // a Go 2.5.1 proxy panics on this one
    '{"type":"offer"}',
    '{"type":"offer","sdp":"hello"}',
    '{"type":"answer","sdp":"v=0\\r\\n"}', // wrong type for an offer
  ];
  for (const text of bad) assert.throws(() => parseSessionDescription(text, "offer"), MessageError, text);
});
