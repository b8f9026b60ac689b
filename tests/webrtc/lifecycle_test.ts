/**
 * Peer connections are released: 300 cycles of connect two peers (loopback),
 * exchange a message, close, leave no native handle behind, keep the shim's
 * goroutines at their starting level and the process's RSS bounded.
 */

import assert from "node:assert/strict";
import { nativeStats } from "../../lib/webrtc/mod.ts";
import { connectPair } from "./connect.ts";

const CYCLES = 300;
const WARM_UP = 30;
/** RSS may grow this much after the warm-up cycles (allocator and JIT noise), far below 300 leaked connections. */
const RSS_SLACK_MB = 40;
/** Goroutines pion leaves running for a moment after Close (timers, read loops ending), settled by the bounded wait below. */
const GOROUTINE_SLACK = 10;

Deno.test("webrtc: 300 create/connect/close cycles leak no handles, goroutines or memory", async () => {
  const baseline = nativeStats();
  let rssAfterWarmUp = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const pair = await connectPair();
    try {
      const echoed = new Promise((resolve) => pair.local.onmessage = (event) => resolve(event.data));
      pair.remote.onmessage = (event) => pair.remote.send(event.data as string);
      pair.local.send(`ping ${cycle}`);
      assert.equal(await echoed, `ping ${cycle}`);
    } finally {
      pair.close();
    }
    assert.equal(nativeStats().handles, baseline.handles, `handles left after cycle ${cycle}`);
    if (cycle === WARM_UP) rssAfterWarmUp = Deno.memoryUsage().rss / 1e6;
  }
  const rss = Deno.memoryUsage().rss / 1e6;
  assert.ok(rss - rssAfterWarmUp < RSS_SLACK_MB, `RSS grew from ${rssAfterWarmUp} MB to ${rss} MB`);
  // pion's goroutines end shortly after Close returns: give them up to 5 s.
  for (let i = 0; i < 50 && nativeStats().goroutines > baseline.goroutines + GOROUTINE_SLACK; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(
    nativeStats().goroutines <= baseline.goroutines + GOROUTINE_SLACK,
    `goroutines: ${nativeStats().goroutines}, baseline ${baseline.goroutines}`,
  );
});
