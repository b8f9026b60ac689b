import assert from "node:assert/strict";
import { chooseIceServers } from "../../lib/client/ice_servers.ts";

Deno.test("ice servers: up to two are all kept; more are halved (rounded up), each a member of the list", () => {
  assert.deepEqual(chooseIceServers([]), []);
  assert.deepEqual(chooseIceServers([" stun:a:1 ", ""]), ["stun:a:1"]);
  assert.equal(chooseIceServers(["stun:a", "stun:b"]).length, 2);
  const list = ["stun:a", "stun:b", "stun:c", "stun:d", "stun:e"];
  for (let i = 0; i < 50; i++) {
    const chosen = chooseIceServers(list);
    assert.equal(chosen.length, 3);
    assert.equal(new Set(chosen).size, 3);
    for (const url of chosen) assert.ok(list.includes(url));
  }
});

Deno.test("ice servers: the shuffle spreads clients over the list", () => {
  const firsts = new Set<string>();
  for (let i = 0; i < 200; i++) firsts.add(chooseIceServers(["stun:a", "stun:b", "stun:c", "stun:d"])[0]);
  assert.equal(firsts.size, 4);
});
