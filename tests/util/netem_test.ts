import assert from "node:assert/strict";
import { Netem, type NetemOptions, Prng, type SimPeer, Simulation } from "./netem.ts";

const packet = (id: number, size = 10) => new Uint8Array(size).fill(id);

/** Sends packets 0…n−1 at time 0 (or `gap` ms apart) and returns [id, arrival] in delivery order. */
function run(options: NetemOptions, n: number, gap = 0): [number, number][] {
  const netem = new Netem(options);
  for (let i = 0; i < n; i++) netem.send(packet(i), i * gap);
  const out: [number, number][] = [];
  for (let at; (at = netem.nextDelivery()) !== Infinity;) out.push([netem.receive(at)![0], at]);
  return out;
}

Deno.test("Prng: seeded and uniform enough", () => {
  const a = new Prng(7), b = new Prng(7), c = new Prng(8);
  const seq = (p: Prng) => Array.from({ length: 5 }, () => p.next());
  assert.deepEqual(seq(a), seq(b));
  assert.notDeepEqual(seq(new Prng(7)), seq(c));
  const r = new Prng(1);
  const mean = Array.from({ length: 10_000 }, () => r.next()).reduce((x, y) => x + y) / 10_000;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
});

Deno.test("Netem: a clean link delivers in order after the latency, nothing early", () => {
  const netem = new Netem({ seed: 1, latencyMs: 50 });
  netem.send(packet(1), 0);
  netem.send(packet(2), 10);
  assert.equal(netem.receive(49), null);
  assert.equal(netem.nextDelivery(), 50);
  assert.equal(netem.receive(50)![0], 1);
  assert.equal(netem.receive(59), null);
  assert.equal(netem.receive(60)![0], 2);
  assert.equal(netem.nextDelivery(), Infinity);
});

Deno.test("Netem: loss, bursts, duplication and the queue bound", () => {
  assert.deepEqual(run({ seed: 1, loss: 1 }, 10), []);
  const lossy = run({ seed: 1, loss: 0.3 }, 1000).length;
  assert.ok(lossy > 600 && lossy < 800, `${lossy} of 1000 survived 30 % loss`);
  assert.equal(run({ seed: 1, burst: { enter: 1, leave: 0 } }, 10).length, 0, "the bad state never ends");
  assert.equal(run({ seed: 1, duplicate: 1 }, 10).length, 20);
  assert.equal(run({ seed: 1, capacity: 3 }, 10).length, 3);
});

Deno.test("Netem: reordering lets later packets overtake; same seed, same order", () => {
  const options = { seed: 3, reorder: 0.3, reorderDelayMs: 25, latencyMs: 5 };
  const order = run(options, 50, 1).map(([id]) => id);
  assert.notDeepEqual(order, [...order].sort((x, y) => x - y));
  assert.deepEqual(run(options, 50, 1).map(([id]) => id), order);
});

Deno.test("Netem: a bottleneck serializes packets at its rate", () => {
  const arrivals = run({ seed: 1, bytesPerMs: 10, latencyMs: 100 }, 3).map(([, at]) => at);
  assert.deepEqual(arrivals, [101, 102, 103], "10-byte packets at 10 bytes/ms leave 1 ms apart");
});

Deno.test("Simulation.progress runs the earliest event: a peer's timeout or a delivery", () => {
  const log: string[] = [];
  const peer = (name: string, wake: number[]): SimPeer => ({
    pollTimeout: () => wake[0] ?? Infinity,
    handleTimeout: (now) => {
      log.push(`${name} timeout ${now}`);
      wake.shift();
      if (name === "a") aToB.send(packet(9), now);
    },
    handleInput: (p, now) => log.push(`${name} got ${p[0]} at ${now}`),
  });
  const aToB = new Netem({ seed: 1, latencyMs: 5 });
  const bToA = new Netem({ seed: 2 });
  const sim = new Simulation(peer("a", [3]), peer("b", [20]), aToB, bToA);
  assert.equal(sim.progress(), 3);
  assert.equal(sim.progress(), 8);
  assert.equal(sim.progress(), 20);
  assert.equal(sim.progress(), Infinity);
  assert.deepEqual(log, ["a timeout 3", "b got 9 at 8", "b timeout 20"]);
});
