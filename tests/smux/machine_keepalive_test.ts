/** SmuxMachine keepalive under a fake clock (KCP-SMUX.md §8.9). */

import assert from "node:assert/strict";
import { SmuxMachine } from "../../lib/smux/machine.ts";
import { type SmuxConfig, SNOWFLAKE_SMUX_CLIENT, SNOWFLAKE_SMUX_SERVER } from "../../lib/smux/config.ts";
import { SmuxCmd } from "../../lib/smux/frame.ts";
import { toHex } from "../../lib/util/bytes.ts";
import { drainEvents, drainTransmit, frameBytes } from "./helpers.ts";

const NOP_HEX = "0203000000000000"; // §9.1

const FAST: SmuxConfig = {
  ...SNOWFLAKE_SMUX_CLIENT,
  keepAliveIntervalMs: 10_000,
  keepAliveTimeoutMs: 30_000,
};

Deno.test("smux keepalive: a NOP every interval whatever the traffic, at the exact tick", () => {
  const start = 5_000;
  const machine = new SmuxMachine("client", SNOWFLAKE_SMUX_CLIENT, start);
  assert.equal(machine.pollTimeout(), start + 10_000);
  machine.handleTimeout(start + 9_999);
  assert.deepEqual(drainTransmit(machine), []);
  for (let tick = 1; tick <= 5; tick++) {
    machine.handleInput(frameBytes(SmuxCmd.NOP, 0)); // incoming traffic does not suppress our NOPs
    machine.handleTimeout(start + tick * 10_000);
    assert.deepEqual(drainTransmit(machine).map(toHex), [NOP_HEX], `tick ${tick}`);
    assert.equal(machine.pollTimeout(), start + (tick + 1) * 10_000);
  }
  machine.close();
});

Deno.test("smux keepalive: ticks missed while asleep are dropped, and at most one NOP waits", () => {
  const machine = new SmuxMachine("client", FAST, 0);
  machine.handleTimeout(25_000); // ping ticks at 10 s and 20 s were due: one NOP
  machine.handleTimeout(25_000);
  assert.deepEqual(drainTransmit(machine).map(toHex), [NOP_HEX]);
  assert.equal(machine.pollTimeout(), 30_000, "next ping tick at 30 s (and the first timeout tick)");
  machine.handleInput(frameBytes(SmuxCmd.NOP, 0));
  machine.handleTimeout(30_000);
  machine.handleTimeout(40_000); // NOP of 30 s not yet sent: the 40 s one is dropped
  assert.deepEqual(drainTransmit(machine).map(toHex), [NOP_HEX]);
  machine.close();
});

Deno.test("smux keepalive: the session closes after a whole timeout tick without frames (T to 2T)", () => {
  const machine = new SmuxMachine("server", FAST, 0);
  machine.handleInput(frameBytes(SmuxCmd.NOP, 0));
  machine.handleTimeout(29_999);
  machine.handleTimeout(30_000); // a frame arrived during the first period: stays open
  assert.equal(machine.closed, false);
  machine.handleTimeout(59_999);
  assert.equal(machine.closed, false);
  machine.handleTimeout(60_000); // nothing since the 30 s tick
  assert.equal(machine.closed, true);
  assert.equal(machine.error?.code, "keepalive-timeout");
  assert.deepEqual(drainEvents(machine).at(-1), { type: "closed", error: machine.error });
  assert.equal(machine.pollTimeout(), Infinity);
  assert.deepEqual(drainTransmit(machine), [], "nothing is sent after the end");
});

Deno.test("smux keepalive: a silent peer is dropped at the first timeout tick", () => {
  const machine = new SmuxMachine("server", SNOWFLAKE_SMUX_SERVER, 0);
  for (let t = 10_000; t < 240_000; t += 10_000) machine.handleTimeout(t);
  assert.equal(machine.closed, false);
  machine.handleTimeout(240_000); // Snowflake server 2.5.1: 4 min
  assert.equal(machine.error?.code, "keepalive-timeout");
});

Deno.test("smux keepalive: no idle close while the receive bucket is empty (not the peer's fault)", () => {
  const config = { ...FAST, maxReceiveBuffer: 1000, maxStreamBuffer: 1000 };
  const machine = new SmuxMachine("server", config, 0);
  machine.handleInput(frameBytes(SmuxCmd.SYN, 3));
  machine.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array(1000)));
  assert.equal(machine.bucket, 0);
  for (let t = 30_000; t <= 300_000; t += 10_000) machine.handleTimeout(t);
  assert.equal(machine.closed, false);
  const id = machine.acceptStream()!;
  assert.equal(machine.readStream(id)?.length, 1000); // bucket refills; silence now counts
  machine.handleTimeout(330_000);
  assert.equal(machine.error?.code, "keepalive-timeout");
});

Deno.test("smux keepalive disabled: no NOP, no timeout, no deadline", () => {
  const machine = new SmuxMachine("client", { ...FAST, keepAliveDisabled: true }, 0);
  assert.equal(machine.pollTimeout(), Infinity);
  machine.handleTimeout(10_000_000);
  assert.deepEqual(drainTransmit(machine), []);
  assert.equal(machine.closed, false);
  machine.close();
});
