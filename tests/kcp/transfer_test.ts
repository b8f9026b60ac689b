/**
 * Two Arqs with Snowflake's settings move exact byte streams both ways at once
 * over a seeded lossy, reordering, duplicating link (tests/util/netem.ts), on a
 * simulated clock: the assertion is the sha256 of what each side read.
 */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { CMD_WASK, CMD_WINS } from "../../lib/kcp/segment.ts";
import { concat } from "../../lib/util/bytes.ts";
import { Netem, type NetemOptions, Prng, Simulation } from "../util/netem.ts";
import { ArqPeer } from "./arq_peer.ts";
import { sha256 } from "./helpers.ts";

interface Run {
  a: ArqPeer;
  b: ArqPeer;
  sim: Simulation;
}

function setUp(
  seed: number,
  bytesEachWay: number,
  link: Omit<NetemOptions, "seed">,
  start = { time: 0, sn: 0, rcvWndB: SNOWFLAKE_KCP_OPTIONS.rcvWnd },
): Run {
  const random = new Prng(seed);
  const aToB = new Netem({ seed: seed + 1, ...link });
  const bToA = new Netem({ seed: seed + 2, ...link });
  const arq = (rcvWnd: number) =>
    new Arq(0x1234, { ...SNOWFLAKE_KCP_OPTIONS, rcvWnd }, { initialSn: start.sn });
  const a = new ArqPeer(arq(SNOWFLAKE_KCP_OPTIONS.rcvWnd), aToB, random.bytes(bytesEachWay), seed + 3);
  const b = new ArqPeer(arq(start.rcvWndB), bToA, random.bytes(bytesEachWay), seed + 4);
  return { a, b, sim: new Simulation(a, b, aToB, bToA, start.time) };
}

/** Runs until both sides read everything the other wrote; bounded in steps and simulated time. */
function runToEnd({ a, b, sim }: Run, maxSimMs = 600_000): void {
  const end = sim.now + maxSimMs;
  for (let steps = 0; steps < 2_000_000; steps++) {
    if (a.receivedBytes === b.source.length && b.receivedBytes === a.source.length) return;
    if (sim.progress() === Infinity || sim.now > end) break;
  }
  assert.fail(
    `stalled at ${sim.now} ms: a read ${a.receivedBytes}/${b.source.length}, b read ${b.receivedBytes}`,
  );
}

async function assertDelivered({ a, b }: Run): Promise<void> {
  assert.equal(await sha256(concat(b.received)), await sha256(a.source), "a → b");
  assert.equal(await sha256(concat(a.received)), await sha256(b.source), "b → a");
}

const LINK = { latencyMs: 20, jitterMs: 10, reorder: 0.05, reorderDelayMs: 30, duplicate: 0.02 };
const CASES: [string, number, Omit<NetemOptions, "seed">][] = [
  ["0 % loss", 2_000_000, LINK],
  ["1 % loss", 1_000_000, { ...LINK, loss: 0.01 }],
  ["5 % loss", 500_000, { ...LINK, loss: 0.05 }],
  ["20 % loss", 200_000, { ...LINK, loss: 0.2 }],
  ["bursty loss (Gilbert 1 %/30 %)", 500_000, { ...LINK, burst: { enter: 0.01, leave: 0.3 } }],
  ["1 % loss, a 2 MB/s bottleneck with a 256-packet queue", 1_000_000, {
    ...LINK,
    loss: 0.01,
    bytesPerMs: 2000,
    capacity: 256,
  }],
];

for (const [name, size, link] of CASES) {
  Deno.test(`Arq pair, Snowflake settings, ${name}, reordering and duplication: exact streams both ways`, async () => {
    for (const seed of [1, 2, 3, 4]) {
      const run = setUp(seed * 1000, size, link);
      runToEnd(run);
      await assertDelivered(run);
      if (link.loss) assert.ok(run.sim.aToB.stats.lost > 0, "the link did lose packets");
    }
  });
}

Deno.test("Arq pair across the u32 wrap of sn and ts, 5 % loss", async () => {
  const start = { time: 2 ** 32 - 100, sn: 2 ** 32 - 300, rcvWndB: 65535 };
  const run = setUp(77, 1_000_000, { ...LINK, loss: 0.05 }, start);
  runToEnd(run);
  await assertDelivered(run);
  assert.ok(run.sim.now > 2 ** 32, "the clock passed 2³²");
  assert.ok(run.a.arq.sndNxt < 2 ** 31 && run.b.arq.rcvNxt < 2 ** 31, "sn wrapped");
});

Deno.test("Arq pair: a receiver that stops reading closes the window; WASK probes; reading resumes the stream", async () => {
  const run = setUp(5, 300_000, { latencyMs: 10 }, { time: 0, sn: 0, rcvWndB: 16 });
  const { a, b, sim } = run;
  b.reading = false;
  while (sim.now < 20_000 && sim.progress() !== Infinity);
  assert.equal(a.arq.rmtWnd, 0, "the peer advertised a closed window");
  assert.equal(b.commandsIn.get(CMD_WASK), 2, "probes at 7 s and 17.5 s after the window closed");
  assert.equal(a.commandsIn.get(CMD_WINS), 2, "each probe answered");
  assert.ok(b.arq.readableBytes <= 16 * 1376, "rcv_queue holds at most rcvWnd segments");
  b.reading = true;
  b.read(); // the application reads again: the window reopens and an unsolicited WINS goes out
  runToEnd(run);
  await assertDelivered(run);
});

Deno.test("Arq pair: the same seed gives the same run", () => {
  const trace = () => {
    const run = setUp(42, 200_000, { ...LINK, loss: 0.05 });
    runToEnd(run);
    return [run.sim.now, run.sim.aToB.stats, run.sim.bToA.stats];
  };
  assert.deepEqual(trace(), trace());
});
