import assert from "node:assert/strict";
import { SlabStore } from "../../lib/kcp/slab_store.ts";

Deno.test("SlabStore: copies share slabs; a slab is charged while any copy in it lives", () => {
  const store = new SlabStore(100);
  const a = store.store(new Uint8Array(40).fill(1));
  const b = store.store(new Uint8Array(40).fill(2));
  assert.equal(a, b, "both fit in the first slab");
  assert.deepEqual(a.bytes.subarray(40, 80), new Uint8Array(40).fill(2));
  const c = store.store(new Uint8Array(40).fill(3)); // 80 + 40 > 100: a new slab
  assert.notEqual(c, a);
  assert.equal(store.pinnedBytes, 200);
  store.release(a);
  assert.equal(store.pinnedBytes, 200, "one copy still lives in the first slab");
  store.release(b);
  assert.equal(store.pinnedBytes, 100, "the first slab is free");
  const big = store.store(new Uint8Array(150));
  assert.equal(big.bytes.length, 150, "a payload larger than what is left gets a slab of its own size");
  store.release(c);
  assert.equal(store.pinnedBytes, 150);
  store.release(big);
  assert.equal(store.pinnedBytes, 0, "an emptied current slab is let go too");
  assert.notEqual(store.store(new Uint8Array(1)), big);
});
