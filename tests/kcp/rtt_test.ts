import assert from "node:assert/strict";
import { RttEstimator } from "../../lib/kcp/rtt.ts";

Deno.test("KCP RTT estimator follows the golden table, KCP-SMUX.md §4.10", () => {
  const rtt = new RttEstimator(10, 100);
  const table: [number, number, number, number][] = [
    // [sample, srtt, rttvar, rx_rto]
    [0, 0, 0, 100], // 10 clamped to min RTO; srtt stays 0 so the next sample is "first" again
    [50, 50, 25, 150],
    [50, 50, 18, 122],
    [300, 81, 76, 385],
    [20, 73, 72, 361],
  ];
  for (const [sample, srtt, rttvar, rto] of table) {
    rtt.update(sample);
    assert.deepEqual([rtt.srtt, rtt.rttvar, rtt.rto], [srtt, rttvar, rto], `after sample ${sample}`);
  }
});

Deno.test("KCP RTT estimator: samples below srtt − rttvar move rttvar 8× slower; RTO capped at 60 s", () => {
  const slow = new RttEstimator(10, 100);
  slow.update(400);
  slow.update(40); // delta −360: srtt 355; 40 < 355 − 200, so rttvar += (360 − 200) >> 5 = 5
  assert.deepEqual([slow.srtt, slow.rttvar], [355, 205]);
  const big = new RttEstimator(10, 100);
  big.update(100_000);
  assert.equal(big.rto, 60_000);
  const nodelay = new RttEstimator(10, 30);
  nodelay.update(1);
  assert.equal(nodelay.rto, 30);
});
