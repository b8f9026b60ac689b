/** Fuzzing the smux session: random and corrupted input only ever ends a session with a SmuxError. */

import assert from "node:assert/strict";
import { SmuxMachine } from "../../lib/smux/machine.ts";
import { SNOWFLAKE_SMUX_SERVER } from "../../lib/smux/config.ts";
import { encodeUpdPayload, SmuxCmd } from "../../lib/smux/frame.ts";
import { SmuxError } from "../../lib/smux/error.ts";
import { memoryByteConnPair } from "../support/memory.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import { concat } from "../../lib/util/bytes.ts";
import { drainEvents, drainTransmit, frameBytes, prng, randomBytes } from "./helpers.ts";

const CONFIG = { ...SNOWFLAKE_SMUX_SERVER, maxReceiveBuffer: 20_000, maxStreamBuffer: 10_000 };

/** Mostly well-formed frames for a few sids, some of them corrupted. */
function randomWire(random: () => number, frames: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < frames; i++) {
    const sid = 1 + ((random() * 6) | 0);
    const cmd = (random() * 5) | 0;
    const payload = cmd === SmuxCmd.PSH
      ? randomBytes(random, (random() * 3000) | 0)
      : cmd === SmuxCmd.UPD
      ? encodeUpdPayload((random() * 2 ** 32) >>> 0, (random() * 2 ** 32) >>> 0)
      : undefined;
    const bytes = frameBytes(cmd, sid, payload);
    if (random() < 0.01) bytes[(random() * bytes.length) | 0] = (random() * 256) | 0;
    parts.push(bytes);
    if (random() < 0.005) parts.push(randomBytes(random, (random() * 20) | 0));
  }
  return concat(parts);
}

Deno.test("smux machine fuzz: random frames, splits and application calls; SmuxError only; the bucket balances", () => {
  const random = prng(77);
  const codes = new Map<string, number>();
  for (let round = 0; round < 300; round++) {
    const machine = new SmuxMachine("server", CONFIG, 0);
    const wire = randomWire(random, 200);
    const accepted = new Set<number>();
    for (let at = 0; at < wire.length && !machine.closed;) {
      if (!machine.wantsInput()) {
        // Back-pressure: the application catches up (the adapter waits for it to).
        for (let id = machine.acceptStream(); id !== null; id = machine.acceptStream()) accepted.add(id);
        for (const sid of accepted) machine.readStream(sid);
        assert.ok(machine.wantsInput(), `round ${round}: reading all streams must reopen the input`);
      }
      const n = 1 + ((random() * 5000) | 0);
      machine.handleInput(wire.subarray(at, at + n));
      at += n;
      // The application: accept, read, write, close, in random order.
      const id = machine.acceptStream();
      if (id !== null) accepted.add(id);
      for (const sid of accepted) {
        const choice = random();
        try {
          if (choice < 0.6) machine.readStream(sid);
          else if (choice < 0.8) machine.writeStream(sid, new Uint8Array((random() * 5000) | 0));
          else if (choice < 0.85) (machine.closeStream(sid), accepted.delete(sid));
        } catch (error) {
          assert.ok(error instanceof SmuxError, String(error));
        }
      }
      drainTransmit(machine);
      drainEvents(machine);
    }
    if (machine.error) codes.set(machine.error.code, (codes.get(machine.error.code) ?? 0) + 1);
    else {
      // Drain everything: every token comes back.
      for (let id = machine.acceptStream(); id !== null; id = machine.acceptStream()) accepted.add(id);
      for (const sid of accepted) machine.closeStream(sid);
      assert.equal(machine.bucket, CONFIG.maxReceiveBuffer, `round ${round}: tokens lost`);
    }
    machine.close();
  }
  assert.ok((codes.get("invalid-version") ?? 0) > 0, `codes seen: ${[...codes]}`);
});

Deno.test("smux machine fuzz: pure random bytes end the session with a SmuxError or leave it open", () => {
  const random = prng(3);
  for (let round = 0; round < 2000; round++) {
    const machine = new SmuxMachine("client", CONFIG, 0);
    const bytes = randomBytes(random, (random() * 100) | 0);
    machine.handleInput(bytes);
    drainTransmit(machine);
    drainEvents(machine);
    assert.ok(machine.error === null || machine.error instanceof SmuxError);
    assert.ok(machine.closed === (machine.error !== null));
    machine.close();
  }
});

Deno.test("smux session fuzz: garbage on the conn ends the session; nothing hangs", async () => {
  const random = prng(11);
  for (let round = 0; round < 30; round++) {
    const [raw, conn] = memoryByteConnPair();
    const session = SmuxSession.server(conn, { ...CONFIG, keepAliveDisabled: true });
    const streams = (async () => {
      for (
        let stream = await session.acceptStream();
        stream !== null;
        stream = await session.acceptStream()
      ) {
        const s = stream;
        (async () => {
          try {
            while ((await s.read()) !== null);
          } catch (error) {
            assert.ok(error instanceof SmuxError, String(error));
          }
        })();
      }
    })();
    try {
      await raw.write(concat([randomWire(random, 100), randomBytes(random, 64)]));
    } catch {
      // the session may have closed the conn already
    }
    raw.close(); // ends the session at the latest here
    await session.closed;
    await streams;
    assert.ok(session.error instanceof SmuxError);
  }
});
