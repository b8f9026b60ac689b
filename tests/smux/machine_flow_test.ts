/** SmuxMachine v2 flow control, receive bucket and accept backlog (KCP-SMUX.md §8.4, §8.6, §8.7, §8.10). */

import assert from "node:assert/strict";
import { SMUX_ACCEPT_BACKLOG, SmuxMachine } from "../../lib/smux/machine.ts";
import { SNOWFLAKE_SMUX_CLIENT, SNOWFLAKE_SMUX_SERVER } from "../../lib/smux/config.ts";
import { decodeUpdPayload, encodeUpdPayload, SmuxCmd } from "../../lib/smux/frame.ts";
import { SmuxError } from "../../lib/smux/error.ts";
import { toHex } from "../../lib/util/bytes.ts";
import { decodeAll, drainEvents, drainTransmit, frameBytes } from "./helpers.ts";

/** A server machine with client stream 3 accepted. */
function serverWithStream(config = SNOWFLAKE_SMUX_SERVER): SmuxMachine {
  const server = new SmuxMachine("server", { ...config, keepAliveDisabled: true }, 0);
  server.handleInput(frameBytes(SmuxCmd.SYN, 3));
  assert.equal(server.acceptStream(), 3);
  return server;
}

Deno.test("smux UPD: sent on the first read, then every MaxStreamBuffer/2 read (§8.7, §9.1 bytes)", () => {
  const server = serverWithStream();
  server.handleInput(frameBytes(SmuxCmd.PSH, 3, new TextEncoder().encode("hello")));
  assert.deepEqual(new TextDecoder().decode(server.readStream(3)!), "hello");
  assert.deepEqual(drainTransmit(server).map(toHex), ["02040800030000000500000000001000"]);

  const chunk = new Uint8Array(100_000);
  let read = 5;
  const updAt: number[] = [];
  for (let i = 0; i < 12; i++) {
    server.handleInput(frameBytes(SmuxCmd.PSH, 3, chunk.subarray(0, 50_000)));
    server.handleInput(frameBytes(SmuxCmd.PSH, 3, chunk.subarray(0, 50_000)));
    read += server.readStream(3)!.length;
    for (const frame of decodeAll(drainTransmit(server))) {
      assert.equal(frame.cmd, SmuxCmd.UPD);
      const { consumed, window } = decodeUpdPayload(frame.payload);
      assert.equal(consumed, read, "consumed = every byte read so far");
      assert.equal(window, 1048576, "window = our MaxStreamBuffer");
      updAt.push(consumed);
    }
  }
  // incr counts from the first read's reset: ≥ 524288 after 6 reads of 100000 (600000 bytes).
  assert.deepEqual(updAt, [600_005, 1_200_005]);
  server.close();
});

Deno.test("smux window: 300000 bytes after 5 go out as 7×32768 + 32763, then 32768 + 5093 after an UPD (§8.6)", () => {
  const client = new SmuxMachine("client", { ...SNOWFLAKE_SMUX_CLIENT, keepAliveDisabled: true }, 0);
  const id = client.openStream();
  assert.equal(client.writeStream(id, new Uint8Array(5)), 5);
  const data = new Uint8Array(300_000);
  let sent = client.writeStream(id, data, 0);
  assert.equal(sent, 262_139, "stops at exactly 262144 in flight (initial peer window)");
  const frames = decodeAll(drainTransmit(client));
  assert.deepEqual(frames.map((f) => [f.cmd, f.length]), [
    [SmuxCmd.SYN, 0],
    [SmuxCmd.PSH, 5],
    ...Array(7).fill([SmuxCmd.PSH, 32768]),
    [SmuxCmd.PSH, 32763],
  ]);
  assert.equal(client.writeStream(id, data, sent), 0, "window exhausted: the writer must wait");
  drainEvents(client);

  client.handleInput(frameBytes(SmuxCmd.UPD, id, encodeUpdPayload(5, 1048576)));
  assert.deepEqual(drainEvents(client), [{ type: "writable", id }]);
  sent += client.writeStream(id, data, sent);
  assert.equal(sent, 300_000);
  assert.deepEqual(decodeAll(drainTransmit(client)).map((f) => f.length), [32768, 5093]);
  client.close();
});

Deno.test("smux window: an UPD claiming more than was sent fails the write with peer-consumed-more", () => {
  const client = new SmuxMachine("client", { ...SNOWFLAKE_SMUX_CLIENT, keepAliveDisabled: true }, 0);
  const id = client.openStream();
  client.writeStream(id, new Uint8Array(10));
  client.handleInput(frameBytes(SmuxCmd.UPD, id, encodeUpdPayload(11, 1048576)));
  assert.throws(
    () => client.writeStream(id, new Uint8Array(1)),
    (e) => e instanceof SmuxError && e.code === "peer-consumed-more",
  );
  assert.equal(client.closed, false, "fatal for the write only");
  client.close();
});

Deno.test("smux window: u32 counters and int32 window arithmetic wrap exactly like Go's", () => {
  const client = new SmuxMachine("client", { ...SNOWFLAKE_SMUX_CLIENT, keepAliveDisabled: true }, 0);
  const id = client.openStream();
  // consumed 2^32 - 10 with nothing written is 10 bytes in flight after a wrap: window 100 leaves 90.
  client.handleInput(frameBytes(SmuxCmd.UPD, id, encodeUpdPayload(0xfffffff6, 100)));
  assert.equal(client.writeStream(id, new Uint8Array(1000)), 90);
  // A window of 2^31 is int32 -2^31: with 0 in flight nothing may be sent ...
  client.handleInput(frameBytes(SmuxCmd.UPD, id, encodeUpdPayload(90, 0x80000000)));
  assert.equal(client.writeStream(id, new Uint8Array(1000)), 0);
  // ... and with 1 in flight Go's int32 subtraction wraps to 2^31 - 1 (capped here by one write batch).
  client.handleInput(frameBytes(SmuxCmd.UPD, id, encodeUpdPayload(89, 0x80000000)));
  assert.equal(client.writeStream(id, new Uint8Array(1000)), 1000);
  client.close();
});

Deno.test("smux bucket: parsing stops at an empty bucket and resumes when the application reads (§8.10)", () => {
  const config = { ...SNOWFLAKE_SMUX_SERVER, maxReceiveBuffer: 100_000, maxStreamBuffer: 100_000 };
  const server = serverWithStream(config);
  const frame = frameBytes(SmuxCmd.PSH, 3, new Uint8Array(40_000).fill(7));
  // Three frames in one chunk: the third is parsed only while the bucket is > 0 (Go checks before each header).
  server.handleInput(new Uint8Array([...frame, ...frame, ...frame, ...frame]));
  assert.equal(server.bucket, -20_000, "overshoot by at most one frame");
  assert.equal(server.wantsInput(), false, "the adapter stops reading the conn");
  assert.equal(server.readStream(3)!.length, 120_000);
  assert.equal(server.bucket, 100_000 - 40_000, "reading returned tokens and the 4th frame was parsed");
  assert.equal(server.wantsInput(), true);
  assert.equal(server.readStream(3)!.length, 40_000);
  assert.equal(server.bucket, 100_000);
  server.close();
});

Deno.test("smux bucket: closing a stream returns its unread bytes; PSH for it is then discarded", () => {
  const config = { ...SNOWFLAKE_SMUX_SERVER, maxReceiveBuffer: 100_000, maxStreamBuffer: 100_000 };
  const server = serverWithStream(config);
  server.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array(50_000)));
  assert.equal(server.bucket, 50_000);
  server.closeStream(3);
  assert.equal(server.bucket, 100_000);
  server.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array(60_000)));
  server.handleInput(frameBytes(SmuxCmd.PSH, 99, new Uint8Array(60_000))); // never opened
  assert.equal(server.bucket, 100_000, "PSH to an unknown sid is discarded silently");
  assert.equal(server.closed, false);
  server.close();
});

Deno.test("smux accept backlog: 1024 streams wait; the next SYN stops parsing until an accept", () => {
  const server = new SmuxMachine("server", { ...SNOWFLAKE_SMUX_SERVER, keepAliveDisabled: true }, 0);
  const syns: number[] = [];
  for (let i = 0; i < SMUX_ACCEPT_BACKLOG + 1; i++) syns.push(...frameBytes(SmuxCmd.SYN, 3 + 2 * i));
  syns.push(...frameBytes(SmuxCmd.PSH, 3 + 2 * SMUX_ACCEPT_BACKLOG, new Uint8Array([42])));
  server.handleInput(new Uint8Array(syns));
  assert.equal(drainEvents(server).length, SMUX_ACCEPT_BACKLOG);
  assert.equal(server.wantsInput(), false);
  assert.equal(server.acceptStream(), 3);
  const last = 3 + 2 * SMUX_ACCEPT_BACKLOG;
  assert.deepEqual(drainEvents(server), [{ type: "incoming" }, { type: "readable", id: last }]);
  assert.equal(server.wantsInput(), true);
  for (let i = 1; i < SMUX_ACCEPT_BACKLOG; i++) server.acceptStream();
  assert.equal(server.acceptStream(), last);
  assert.deepEqual(server.readStream(last), new Uint8Array([42]));
  assert.equal(server.acceptStream(), null);
  server.close();
});

Deno.test("smux version 1: no UPD, no window; writes split at MaxFrameSize only", () => {
  const config = { ...SNOWFLAKE_SMUX_CLIENT, version: 1 as const, keepAliveDisabled: true };
  const a = new SmuxMachine("client", config, 0);
  const b = new SmuxMachine("server", config, 0);
  const id = a.openStream();
  assert.equal(
    a.writeStream(id, new Uint8Array(262_144 + 100)),
    262_144,
    "one write batch, not the v2 window",
  );
  const wire = drainTransmit(a);
  assert.ok(decodeAll(wire).every((f) => f.version === 1));
  for (const frame of wire) b.handleInput(frame);
  assert.equal(b.acceptStream(), id);
  assert.equal(b.readStream(id)!.length, 262_144);
  assert.deepEqual(drainTransmit(b), [], "v1 sends no UPD");
  a.close();
  b.close();
});
