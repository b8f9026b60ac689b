import assert from "node:assert/strict";
import { type PollAction, PollMachine, type PollMachineConfig } from "../../lib/proxy/poll_machine.ts";

const CONFIG: PollMachineConfig = {
  capacity: 0,
  pollIntervalMs: 5_000,
  maxBackoffMs: 60_000,
  natRetestIntervalMs: 0,
};

/** Everything due at `now`. */
function drain(machine: PollMachine, now: number): PollAction[] {
  const out: PollAction[] = [];
  for (let a = machine.pollTransmit(now); a; a = machine.pollTransmit(now)) out.push(a);
  return out;
}

/** Starts at 0 and answers the initial NAT test. */
function started(config: Partial<PollMachineConfig> = {}): PollMachine {
  const machine = new PollMachine({ ...CONFIG, ...config }, 0);
  const first = machine.pollTransmit(0);
  assert.deepEqual(first, { kind: "nat-test" });
  machine.handleInput(0, { kind: "nat-tested" });
  return machine;
}

Deno.test("PollMachine: one poll in flight; the next no sooner than one interval after the last began", () => {
  const machine = started();
  assert.deepEqual(drain(machine, 0), [{ kind: "poll", clients: 0 }]);
  assert.deepEqual(drain(machine, 1_000), []); // in flight
  assert.equal(machine.pollTimeout(), null); // waiting on I/O only
  machine.handleInput(1_000, { kind: "no-match" }); // a short poll
  assert.equal(machine.pollTimeout(), 5_000);
  assert.deepEqual(drain(machine, 4_999), []);
  assert.equal(drain(machine, 5_000).length, 1);
  machine.handleInput(15_000, { kind: "no-match" }); // the broker held it 10 s: back to back
  assert.equal(machine.pollTimeout(), 15_000);
  assert.equal(drain(machine, 15_000).length, 1);
});

Deno.test("PollMachine: -capacity is honoured exactly, and every released slot polls again", () => {
  const machine = started({ capacity: 3 });
  let now = 0;
  for (let i = 0; i < 3; i++) {
    const [poll] = drain(machine, now);
    assert.equal(poll.kind, "poll");
    machine.handleInput(now, { kind: "offer" });
    now += 5_000;
  }
  assert.equal(machine.stats().clients, 3);
  assert.deepEqual(drain(machine, now + 60_000), []);
  assert.equal(machine.pollTimeout(), null);
  machine.releaseSlot();
  assert.equal(drain(machine, now).length, 1);
  assert.deepEqual(drain(machine, now + 60_000), []); // the poll holds the freed slot
  machine.handleInput(now, { kind: "no-match" });
  assert.equal(machine.stats().slotsInUse, 2);
  assert.throws(() => new PollMachine({ ...CONFIG, capacity: -1 }, 0), RangeError);
});

Deno.test("PollMachine: Clients counts the slot being polled for, rounded down to a multiple of 8", () => {
  const machine = started();
  const seen: number[] = [];
  let now = 0;
  for (let i = 0; i < 17; i++) {
    const [poll] = drain(machine, now) as [{ kind: "poll"; clients: number }];
    seen.push(poll.clients);
    machine.handleInput(now, { kind: "offer" });
    now += 5_000;
  }
  // clients before the poll: 0..16, plus this poll's slot: 1..17
  assert.deepEqual(seen, [0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8, 8, 8, 16, 16]);
});

Deno.test("PollMachine: broker errors back off by doubling up to the cap; a good reply resets", () => {
  const machine = started({ maxBackoffMs: 30_000 });
  let now = 0;
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    assert.equal(drain(machine, now).length, 1);
    machine.handleInput(now, { kind: "error" });
    const next = machine.pollTimeout()!;
    waits.push(next - now);
    now = next;
  }
  assert.deepEqual(waits, [5_000, 10_000, 20_000, 30_000, 30_000, 30_000]);
  assert.equal(machine.stats().brokerErrors, 6);
  drain(machine, now);
  machine.handleInput(now, { kind: "no-match" });
  assert.equal(machine.stats().consecutiveErrors, 0);
  assert.equal(machine.pollTimeout(), now + 5_000);
});

Deno.test("PollMachine: the NAT test never delays a poll, and is retested every interval", () => {
  const machine = new PollMachine({ ...CONFIG, natRetestIntervalMs: 60_000 }, 0);
  // Both start at once; the NAT test is still running when the poll goes.
  assert.deepEqual(drain(machine, 0), [{ kind: "nat-test" }, { kind: "poll", clients: 0 }]);
  machine.handleInput(3_000, { kind: "no-match" });
  assert.deepEqual(drain(machine, 5_000), [{ kind: "poll", clients: 0 }]);
  machine.handleInput(20_000, { kind: "nat-tested" });
  assert.equal(machine.pollTimeout(), 80_000); // a poll in flight: the next NAT test is the only timer
  machine.handleInput(21_000, { kind: "no-match" });
  assert.equal(machine.pollTimeout(), 21_000);
  drain(machine, 21_000);
  assert.equal(machine.pollTimeout(), 80_000);
  assert.deepEqual(drain(machine, 80_000), [{ kind: "nat-test" }]);
});

Deno.test("PollMachine: after stop nothing starts; misuse throws", () => {
  const machine = started();
  drain(machine, 0);
  machine.stop();
  machine.handleInput(1, { kind: "offer" });
  assert.deepEqual(drain(machine, 100_000), []);
  assert.equal(machine.pollTimeout(), null);
  machine.releaseSlot();
  assert.throws(() => machine.releaseSlot());
  assert.throws(() => machine.handleInput(2, { kind: "no-match" }));
});
