import assert from "node:assert/strict";
import { isTurbotunnelToken, QUEUE_SIZE, TOKEN, TOKEN_LENGTH } from "../../lib/turbotunnel/consts.ts";
import { CLIENT_ID_LENGTH, ClientId } from "../../lib/turbotunnel/client_id.ts";
import { fromHex } from "../../lib/util/bytes.ts";

Deno.test("Token, SNOWFLAKE-PROTOCOL.md §3.1", () => {
  assert.deepEqual(TOKEN, fromHex("12 93 60 5d 27 81 75 f5"));
  assert.equal(TOKEN_LENGTH, 8);
  assert.equal(isTurbotunnelToken(fromHex("1293605d278175f5")), true);
  assert.equal(isTurbotunnelToken(fromHex("1293605d278175f4")), false); // last byte differs
  assert.equal(isTurbotunnelToken(fromHex("1293605d278175")), false); // 7 bytes
  assert.equal(isTurbotunnelToken(fromHex("1293605d278175f500")), false); // 9 bytes
  assert.equal(isTurbotunnelToken(new TextEncoder().encode("\x16\x03\x01\x02\x00\x01\x00\x01")), false); // TLS
});

Deno.test("QUEUE_SIZE is Go Snowflake 2.5.1's, §3.5", () => {
  assert.equal(QUEUE_SIZE, 512);
});

Deno.test("ClientId: 8 random bytes, 16 lowercase hex digits, §3.2", () => {
  const a = ClientId.random();
  const b = ClientId.random();
  assert.equal(a.bytes.length, CLIENT_ID_LENGTH);
  assert.notDeepEqual(a.bytes, b.bytes);
  assert.match(a.toString(), /^[0-9a-f]{16}$/);
  assert.equal(`${a}`, a.toString());

  const bytes = fromHex("0123456789abcdef");
  const id = ClientId.fromBytes(bytes);
  assert.equal(id.toString(), "0123456789abcdef");
  bytes[0] = 0xff;
  assert.equal(id.toString(), "0123456789abcdef", "fromBytes copies");
  assert.deepEqual(ClientId.fromString("0123456789ABCDEF").bytes, fromHex("0123456789abcdef"));
  assert.throws(() => ClientId.fromBytes(new Uint8Array(7)), RangeError);
  assert.throws(() => ClientId.fromBytes(new Uint8Array(9)), RangeError);
  assert.throws(() => ClientId.fromString("0123456789abcde"), RangeError);
  assert.throws(() => ClientId.fromString("0123456789abcdeg"), RangeError);
});
