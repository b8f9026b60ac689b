import assert from "node:assert/strict";
import {
  encodeSmethodArgs,
  parseClientParameters,
  parseServerTransportOptions,
  PtArgs,
  PtArgsError,
} from "../../lib/pt/args.ts";

const asObject = (args: PtArgs | undefined) => Object.fromEntries(args ?? []);

Deno.test("parseServerTransportOptions: SNOWFLAKE-PROTOCOL.md §9.8 vector", () => {
  const options = parseServerTransportOptions(
    "snowflake:num-turbotunnel=2;snowflake:orport-srcaddr=127.0.2.0/24;obfs4:iat-mode=0",
  );
  assert.deepEqual(asObject(options.get("snowflake")), {
    "num-turbotunnel": ["2"],
    "orport-srcaddr": ["127.0.2.0/24"],
  });
  assert.deepEqual(asObject(options.get("obfs4")), { "iat-mode": ["0"] });
  assert.equal(options.get("snowflake")!.first("num-turbotunnel"), "2");
  assert.equal(parseServerTransportOptions("").size, 0);
});

Deno.test("parseServerTransportOptions: escapes and repeated keys", () => {
  const options = parseServerTransportOptions("a\\:b:k\\=ey=v\\;al;a\\:b:k\\=ey=second");
  assert.deepEqual(asObject(options.get("a:b")), { "k=ey": ["v;al", "second"] });
});

Deno.test("parseServerTransportOptions: malformed input, goptlib's errors", () => {
  const cases: [string, string][] = [
    ["snowflake", 'no colon in "snowflake"'], // no colon at all
    ["snowflake:key", 'no equals sign in "snowflake:key"'], // no value
    [":k=v", 'empty method name in ":k=v"'],
    ["m:=v", 'empty key in "m:=v"'],
    ["m:k=v;", 'no colon in ""'], // a trailing ; starts an empty item
    ["m:k=v\\", 'nothing following final escape in "v\\\\"'],
    ["m=k:v", 'no colon in "m"'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseServerTransportOptions(input), (error: Error) => {
      assert.ok(error instanceof PtArgsError, input);
      assert.equal(error.message, message, input);
      return true;
    });
  }
});

Deno.test("parseClientParameters: SNOWFLAKE-PROTOCOL.md §9.7 vectors", () => {
  assert.deepEqual(asObject(parseClientParameters("url=https://broker/;front=cdn.example")), {
    url: ["https://broker/"],
    front: ["cdn.example"],
  });
  assert.deepEqual(asObject(parseClientParameters("a=b\\;c;d=e\\=f")), { a: ["b;c"], d: ["e=f"] });
  const errors: [string, string][] = [
    ["nokey", 'no equals sign in "nokey"'],
    ["=x", 'empty key in "=x"'],
    ["a=b;", 'no equals sign in ""'],
    ["a=b\\", 'nothing following final escape in "b\\\\"'],
  ];
  for (const [input, message] of errors) assert.throws(() => parseClientParameters(input), { message });
  assert.equal(parseClientParameters("").size, 0);
});

Deno.test("encodeSmethodArgs: SNOWFLAKE-PROTOCOL.md §9.8 vector", () => {
  const args = new PtArgs().add("tls", "yes").add("hostname", "snowflake.example").add(
    "hostname",
    "a=b,c\\d",
  );
  assert.equal(encodeSmethodArgs(args), "hostname=snowflake.example,hostname=a\\=b\\,c\\\\d,tls=yes");
  assert.equal(encodeSmethodArgs(new PtArgs().add("tls", "no")), "tls=no");
  assert.equal(encodeSmethodArgs(new PtArgs()), "");
});
