import assert from "node:assert/strict";
import { PreambleReader } from "../../lib/server/connection/preamble.ts";
import { concat, toHex } from "../../lib/util/bytes.ts";
import { TOKEN } from "../../lib/turbotunnel/consts.ts";

const CLIENT_ID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

Deno.test("PreambleReader: token + ClientID in any split", () => {
  const stream = concat([TOKEN, CLIENT_ID, new Uint8Array([0x98, 9, 9])]);
  for (let split = 1; split < stream.length; split++) {
    const reader = new PreambleReader();
    const early = reader.push(stream.slice(0, split));
    assert.equal(early === null, split < 16, `split ${split}`);
    const result = early ?? reader.push(stream.slice(split));
    assert.ok(result && result.kind === "turbotunnel", `split ${split}`);
    assert.equal(toHex(result.clientId), "0102030405060708");
    // the bytes after the ClientID: in `rest`, and (when the preamble ended early) in what comes next
    const after = early ? concat([result.rest, stream.slice(split)]) : result.rest;
    assert.equal(toHex(after), "980909");
  }
});

Deno.test("PreambleReader: no token means legacy, all bytes kept in order", () => {
  const reader = new PreambleReader();
  assert.equal(reader.push(new Uint8Array([0x16, 0x03, 0x01])), null); // a TLS record, tor's first bytes
  const result = reader.push(new Uint8Array([0, 1, 2, 3, 4, 5, 6]));
  assert.deepEqual(result, { kind: "legacy", bytes: new Uint8Array([0x16, 3, 1, 0, 1, 2, 3, 4, 5, 6]) });
  // the token with one byte changed is not the token
  const almost = TOKEN.slice();
  almost[7] ^= 1;
  assert.equal(new PreambleReader().push(almost)?.kind, "legacy");
});
