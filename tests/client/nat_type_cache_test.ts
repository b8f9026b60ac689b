/** NatTypeCache against the RFC 5780 test STUN server on loopback (tests/support/stun_server.ts). */

import assert from "node:assert/strict";
import { NAT_RETEST_MS, NatTypeCache } from "../../lib/client/nat_type_cache.ts";
import { ManualClock } from "../../lib/util/clock.ts";
import { Logger, nullSink } from "../../lib/util/log.ts";
import { startStunServer } from "../support/stun_server.ts";

async function settled(cache: NatTypeCache, list: string[], want: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cache.lookup(list, list).current === want) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`NAT type never became ${want}`);
}

Deno.test("nat type cache: unknown until the test decides; one test per ICE list until NAT_RETEST_MS has passed", async () => {
  const stun = await startStunServer();
  const clock = new ManualClock(0);
  const cache = new NatTypeCache(new Logger(nullSink), clock);
  try {
    const list = ["stun:127.0.0.1:1", stun.url]; // the first never answers decisively (a closed port)
    assert.equal(cache.lookup(list, list).current, "unknown");
    await settled(cache, list, "unrestricted");
    const requests = stun.requests;
    cache.lookup([...list].reverse(), list); // the same list in another order: no new test
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(stun.requests, requests);
    clock.advance(NAT_RETEST_MS);
    assert.equal(cache.lookup(list, [stun.url]).current, "unrestricted", "the last answer while re-testing");
    for (let i = 0; i < 200 && stun.requests === requests; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(stun.requests > requests, "re-tested");
  } finally {
    cache.close();
    stun.close();
  }
});

Deno.test("nat type cache: an address-dependent NAT is restricted", async () => {
  const stun = await startStunServer({ mapping: "address-dependent", filtering: "address-dependent" });
  const cache = new NatTypeCache(new Logger(nullSink));
  try {
    await settled(cache, [stun.url], "restricted");
  } finally {
    cache.close();
    stun.close();
  }
});
