import assert from "node:assert/strict";
import { clientAddr } from "../../lib/server/connection/client_addr.ts";
import { ClientIdAddrMap } from "../../lib/server/tunnel/client_id_addr_map.ts";
import { kcpInstanceIndex } from "../../lib/server/backends/shard.ts";
import { fromHex } from "../../lib/util/bytes.ts";

Deno.test("clientAddr: SNOWFLAKE-PROTOCOL.md §8.6 forms", () => {
  const cases: [string | null, string][] = [
    [null, ""], // no client_ip
    ["", ""],
    ["not an ip", ""],
    ["1.2.3.4:5", ""], // an address with a port is not an IP
    ["0.0.0.0", ""], // unspecified: some proxies send it (Go bug 33157)
    ["::", ""],
    ["1.2.3.4", "1.2.3.4:1"],
    ["2001:db8::1", "[2001:db8::1]:1"],
    ["::ffff:1.2.3.4", "1.2.3.4:1"], // IPv4-mapped
  ];
  for (const [param, expected] of cases) assert.equal(clientAddr(param), expected, String(param));
});

Deno.test("ClientIdAddrMap: replaces, and forgets the oldest when full", () => {
  const map = new ClientIdAddrMap(3);
  map.set("a", "1.1.1.1:1");
  map.set("b", "2.2.2.2:1");
  map.set("a", ""); // a later WebSocket without client_ip overwrites, as Go does
  assert.equal(map.get("a"), "");
  map.set("c", "3.3.3.3:1");
  map.set("d", "4.4.4.4:1"); // evicts b (a's first slot was freed when it moved)
  assert.equal(map.get("b"), undefined);
  assert.equal(map.get("a"), "");
  assert.equal(map.get("c"), "3.3.3.3:1");
  assert.equal(map.get("d"), "4.4.4.4:1");
  assert.equal(map.size, 3);
  for (let i = 0; i < 1000; i++) map.set(`x${i}`, "");
  assert.equal(map.size, 3);
  assert.throws(() => new ClientIdAddrMap(0), RangeError);
});

Deno.test("kcpInstanceIndex: ClientID as little-endian uint64 mod N (§3.11)", () => {
  assert.equal(kcpInstanceIndex(fromHex("0100000000000000"), 2), 1);
  assert.equal(kcpInstanceIndex(fromHex("0200000000000000"), 2), 0);
  assert.equal(kcpInstanceIndex(fromHex("0000000000000080"), 3), Number((1n << 63n) % 3n));
  assert.equal(kcpInstanceIndex(fromHex("ffffffffffffffff"), 7), Number(((1n << 64n) - 1n) % 7n));
  assert.equal(kcpInstanceIndex(fromHex("0123456789abcdef"), 1), 0);
  // a view into a larger buffer
  const buffer = fromHex("aa0500000000000000bb");
  assert.equal(kcpInstanceIndex(buffer.subarray(1, 9), 4), 1);
});
