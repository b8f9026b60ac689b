/**
 * MultipathScheduler driven directly, on simulated time (multipath_sim.ts):
 * real Arqs on both ends, carriers as seeded Netem links with their own rates,
 * latencies and loss. Assertions are on bytes (sha256 of both streams), where
 * the traffic went, what was dropped and why, and simulated stalls, which the
 * seed fixes.
 */

import assert from "node:assert/strict";
import { CMD_ACK, CMD_PUSH } from "../../lib/kcp/segment.ts";
import { MIN_WINDOW_BYTES, MultipathScheduler } from "../../lib/turbotunnel/multipath_scheduler.ts";
import { concat } from "../../lib/util/bytes.ts";
import { sha256Hex as sha256 } from "../support/digest.ts";
import { kcpPacket } from "./kcp_packets.ts";
import { type LinkSpec, MultipathSim } from "./multipath_sim.ts";

async function assertIntact(sim: MultipathSim): Promise<void> {
  assert.equal(await sha256(concat(sim.server.received)), await sha256(sim.client.source), "client → server");
  assert.equal(await sha256(concat(sim.client.received)), await sha256(sim.server.source), "server → client");
}

const FAST: LinkSpec = { bytesPerMs: 1000, latencyMs: 20, jitterMs: 2 };
const SLOW: LinkSpec = { bytesPerMs: 150, latencyMs: 60, jitterMs: 5 };

Deno.test("MultipathScheduler: traffic moves to the better carrier (1 MB/s + 150 kB/s, 3 MB up)", async () => {
  const alone = new MultipathSim({
    seed: 7,
    scheduler: { max: 1, minRedialIntervalMs: 0 },
    path: () => ({ up: FAST, down: FAST }),
    dialMs: () => 100,
    upload: 3_000_000,
    download: 100_000,
  });
  alone.runUntil(() => alone.done, 120_000);
  await assertIntact(alone);
  for (const reportBuffered of [false, true]) {
    const sim = new MultipathSim({
      seed: 7,
      scheduler: { max: 2, minRedialIntervalMs: 0 },
      path: (attempt) => attempt === 0 ? { up: FAST, down: FAST } : { up: SLOW, down: SLOW },
      dialMs: (attempt) => 100 + attempt,
      upload: 3_000_000,
      download: 100_000,
      reportBuffered,
    });
    sim.runUntil(() => sim.done, 60_000);
    await assertIntact(sim);
    const [fast, slow] = sim.allPaths;
    const share = fast.upBytes / (fast.upBytes + slow.upBytes);
    assert.ok(
      share > 0.75 && share < 0.97,
      `fast carrier took ${(share * 100).toFixed(1)} % (buffered ${reportBuffered})`,
    );
    assert.equal(sim.scheduler.lost, 0, `nobody dropped: ${sim.log.join("; ")}`);
    // Both together beat the fast one alone (where KCP's bursts overflow the carrier's queue).
    assert.ok(
      sim.now < alone.now,
      `done at ${Math.round(sim.now)} ms simulated, alone ${Math.round(alone.now)}`,
    );
  }
});

Deno.test("MultipathScheduler: equal carriers share the traffic", async () => {
  const link: LinkSpec = { bytesPerMs: 300, latencyMs: 30, jitterMs: 3, loss: 0.01 };
  const sim = new MultipathSim({
    seed: 11,
    scheduler: { max: 3, minRedialIntervalMs: 0 },
    path: () => ({ up: link, down: link }),
    upload: 2_000_000,
    download: 2_000_000,
  });
  sim.runUntil(() => sim.done, 60_000);
  await assertIntact(sim);
  const total = sim.allPaths.reduce((n, p) => n + p.upBytes, 0);
  for (const path of sim.allPaths) {
    const share = path.upBytes / total;
    assert.ok(share > 0.2 && share < 0.46, `carrier ${path.id} took ${(share * 100).toFixed(1)} %`);
  }
});

Deno.test("MultipathScheduler: a carrier killed silently is dropped within its loss timeout, its segments reinjected", async () => {
  for (
    const [name, upload, download] of [["upload", 4_000_000, 50_000], [
      "download",
      50_000,
      4_000_000,
    ]] as const
  ) {
    const link: LinkSpec = { bytesPerMs: 400, latencyMs: 25, jitterMs: 5 };
    const sim = new MultipathSim({
      seed: 23,
      scheduler: { max: 3, minRedialIntervalMs: 0 },
      path: () => ({ up: link, down: link }),
      upload,
      download,
    });
    sim.runUntil(() => sim.now >= 2000, 10_000);
    const victim = sim.busiest();
    const killedAt = sim.now;
    sim.kill(victim);
    sim.runUntil(() => sim.done, 120_000);
    await assertIntact(sim);
    const down = sim.log.find((line) => line.includes(`down ${victim}:`));
    assert.ok(down, `${name}: carrier ${victim} was dropped; log: ${sim.log.join("; ")}`);
    // Upload: the loss timeout (1 s here) after the oldest segment it was sent, plus ACK spacing. Download: the
    // server's packets on the others must show its clock a loss timeout on, which its own RTO stalls can delay.
    const droppedAfter = Number(down.split(" ")[0]) - killedAt;
    if (name === "upload") {
      assert.ok(droppedAfter <= 1700, `${name}: dropped ${droppedAfter} ms after the kill: ${down}`);
    }
    assert.ok(sim.log.some((line) => line.endsWith("dial 3")), `${name}: a replacement was dialed`);
    assert.equal(sim.scheduler.lost, 1, `${name}: only the dead one was dropped; log: ${sim.log.join("; ")}`);
    if (name === "upload") {
      assert.ok(sim.scheduler.reinjected > 0, "its outstanding segments went out again at once");
      // Downloads recover by the server's own RTO, which the simulated server queue inflates: not asserted.
      assert.ok(sim.longestGap <= 2000, `${name}: longest stall ${Math.round(sim.longestGap)} ms simulated`);
    }
  }
});

Deno.test("MultipathScheduler: 3 carriers, the busiest killed every 5 s, 20 MB down and 2 MB up arrive intact", async () => {
  const specs: LinkSpec[] = [
    { bytesPerMs: 600, latencyMs: 30, jitterMs: 5, loss: 0.005 },
    { bytesPerMs: 300, latencyMs: 50, jitterMs: 10, loss: 0.02 },
    { bytesPerMs: 900, latencyMs: 20, jitterMs: 5 },
  ];
  const sim = new MultipathSim({
    seed: 31,
    scheduler: { max: 3, minRedialIntervalMs: 0 },
    path: (attempt) => ({ up: specs[attempt % 3], down: specs[attempt % 3] }),
    dialMs: (attempt) => 800 + (attempt * 337) % 2000,
    upload: 2_000_000,
    download: 20_000_000,
  });
  let kills = 0;
  for (let at = 5000; !sim.done; at += 5000) {
    sim.runUntil(() => sim.done || sim.now >= at, 120_000);
    if (sim.done) break;
    sim.kill(sim.busiest());
    kills++;
  }
  await assertIntact(sim);
  assert.ok(kills >= 3, `${kills} kills`);
  assert.ok(sim.scheduler.lost >= kills - 1, `the killed carriers were dropped: ${sim.log.join("; ")}`);
});

Deno.test("MultipathScheduler: a slow but working carrier is not dropped", async () => {
  const slow: LinkSpec = { bytesPerMs: 50, latencyMs: 400, jitterMs: 100 };
  const sim = new MultipathSim({
    seed: 5,
    scheduler: { max: 2, minRedialIntervalMs: 0 },
    path: (attempt) => attempt === 0 ? { up: FAST, down: FAST } : { up: slow, down: slow },
    upload: 3_000_000,
    download: 3_000_000,
  });
  sim.runUntil(() => sim.done, 60_000);
  await assertIntact(sim);
  assert.equal(sim.scheduler.lost, 0, sim.log.join("; "));
  assert.ok(sim.allPaths[1].upBytes > 0, "the slow one carried some");
});

Deno.test("MultipathScheduler: max 1 never drops its lone carrier for silence", () => {
  const sim = new MultipathSim({
    seed: 3,
    scheduler: { max: 1, minRedialIntervalMs: 0 },
    path: () => ({ up: FAST, down: FAST }),
    upload: 1_000_000,
    download: 1_000_000,
  });
  sim.runUntil(() => sim.now >= 500, 10_000);
  sim.kill(0);
  for (let i = 0; i < 100_000 && sim.now < 30_000 && sim.step(); i++);
  assert.deepEqual(sim.log, ["0 dial 0", "500 up 0"]);
});

/** One KCP packet of `segments`, each [cmd, sn, payload bytes]. */
Deno.test("MultipathScheduler: a packet that must wait for room sends its ACKs ahead (one direction's window never stalls the other)", () => {
  const scheduler = new MultipathScheduler({ max: 2, queueSize: 64, minRedialIntervalMs: 0 }, 0);
  scheduler.handleInput(0, { kind: "up", carrier: 0 });
  scheduler.handleInput(0, { kind: "up", carrier: 1 });
  while (scheduler.pollTransmit());
  let sn = 0;
  for (let sent = 0; sent < 3 * MIN_WINDOW_BYTES; sent += 1000) {
    scheduler.handleInput(1, { kind: "send", packet: kcpPacket([[CMD_PUSH, sn++, 1000]]) });
  }
  const before: Uint8Array[] = [];
  for (let t = scheduler.pollTransmit(); t; t = scheduler.pollTransmit()) if (t.packet) before.push(t.packet);
  assert.ok(before.length < sn, "the window holds some data back");
  const mixed = kcpPacket([[CMD_ACK, 7, 0], [CMD_ACK, 8, 0], [CMD_PUSH, sn++, 1000]]);
  scheduler.handleInput(2, { kind: "send", packet: mixed });
  const out = scheduler.pollTransmit();
  assert.deepEqual(out?.packet, kcpPacket([[CMD_ACK, 7, 0], [CMD_ACK, 8, 0]]), "the ACKs went out at once");
  assert.equal(scheduler.pollTransmit(), null, "the data waits");
});
