/** SmuxMachine stream ids, SYN/FIN/PSH handling, close and protocol errors (KCP-SMUX.md §8.3–§8.5, §8.8, §8.12). */

import assert from "node:assert/strict";
import { SmuxMachine } from "../../lib/smux/machine.ts";
import { SNOWFLAKE_SMUX_CLIENT, SNOWFLAKE_SMUX_SERVER } from "../../lib/smux/config.ts";
import { encodeUpdPayload, SmuxCmd } from "../../lib/smux/frame.ts";
import { SmuxError } from "../../lib/smux/error.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";
import { toHex } from "../../lib/util/bytes.ts";
import { drainEvents, drainTransmit, frameBytes, pump } from "./helpers.ts";

const CLIENT = { ...SNOWFLAKE_SMUX_CLIENT, keepAliveDisabled: true };
const SERVER = { ...SNOWFLAKE_SMUX_SERVER, keepAliveDisabled: true };
const isCode = (code: string) => (e: unknown) => e instanceof SmuxError && e.code === code;

Deno.test("smux stream ids: client 3, 5, 7; server 2, 4; SYN bytes of §9.1/§9.2", () => {
  const client = new SmuxMachine("client", CLIENT, 0);
  assert.deepEqual([client.openStream(), client.openStream(), client.openStream()], [3, 5, 7]);
  assert.deepEqual(drainTransmit(client).map(toHex).slice(0, 2), ["0200000003000000", "0200000005000000"]);
  const server = new SmuxMachine("server", SERVER, 0);
  assert.deepEqual([server.openStream(), server.openStream()], [2, 4]);
  assert.equal(toHex(drainTransmit(server)[0]), "0200000002000000");
  client.close();
  server.close();
});

Deno.test("smux go-away: the id counter wrapping to 0 or 1 fails this open and all later ones, sending nothing", () => {
  const client = new SmuxMachine("client", CLIENT, 0, { lastStreamId: 0xfffffffb });
  assert.equal(client.openStream(), 0xfffffffd);
  assert.equal(client.openStream(), 0xffffffff);
  drainTransmit(client);
  assert.throws(() => client.openStream(), isCode("go-away")); // 0xffffffff + 2 wraps to 1
  assert.throws(() => client.openStream(), isCode("go-away"));
  assert.deepEqual(drainTransmit(client), []);
  assert.equal(client.closed, false, "existing streams go on");
  assert.equal(client.writeStream(0xffffffff, new Uint8Array(3)), 3);
  client.close();

  const server = new SmuxMachine("server", SERVER, 0, { lastStreamId: 0xfffffffc });
  assert.equal(server.openStream(), 0xfffffffe);
  assert.throws(() => server.openStream(), isCode("go-away")); // wraps to 0
  server.close();
});

Deno.test("smux SYN: a duplicate SYN is ignored; ids of any parity are accepted; PSH right after SYN is kept", () => {
  const server = new SmuxMachine("server", SERVER, 0);
  server.handleInput(frameBytes(SmuxCmd.SYN, 3));
  server.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array([1, 2])));
  server.handleInput(frameBytes(SmuxCmd.SYN, 3));
  server.handleInput(frameBytes(SmuxCmd.SYN, 8)); // even id from the client: Go does not check parity
  assert.equal(server.acceptStream(), 3);
  assert.equal(server.acceptStream(), 8);
  assert.equal(server.acceptStream(), null);
  assert.deepEqual(server.readStream(3), new Uint8Array([1, 2]));
  server.close();
});

Deno.test("smux FIN from the peer: reads drain the buffer then end; writes go on while the window lasts", () => {
  const server = new SmuxMachine("server", SERVER, 0);
  server.handleInput(frameBytes(SmuxCmd.SYN, 3));
  server.acceptStream();
  server.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array([1, 2, 3])));
  server.handleInput(frameBytes(SmuxCmd.FIN, 3));
  assert.deepEqual(drainEvents(server).slice(-2), [{ type: "readable", id: 3 }, { type: "writable", id: 3 }]);
  assert.deepEqual(server.readStream(3), new Uint8Array([1, 2, 3]));
  assert.equal(server.readStream(3), null);
  assert.equal(server.readStream(3), null);
  assert.equal(server.writeStream(3, new Uint8Array(300_000)), 262_144, "the initial window still allows");
  assert.throws(() => server.writeStream(3, new Uint8Array(1)), isCode("peer-closed"));
  server.handleInput(frameBytes(SmuxCmd.FIN, 3)); // a second FIN changes nothing
  assert.equal(server.closed, false);
  server.closeStream(3);
  assert.equal(toHex(drainTransmit(server).at(-1)!), "0201000003000000", "our FIN, §9.1");
  server.close();
});

Deno.test("smux local close: FIN after the stream's data, stream forgotten, reads end, writes fail", () => {
  const client = new SmuxMachine("client", CLIENT, 0);
  const id = client.openStream();
  client.writeStream(id, new Uint8Array([9]));
  client.handleInput(frameBytes(SmuxCmd.PSH, id, new Uint8Array([5, 5])));
  client.closeStream(id);
  client.closeStream(id); // idempotent, no second FIN
  drainEvents(client);
  assert.deepEqual(drainTransmit(client).map(toHex), [
    "0200000003000000",
    "020201000300000009",
    "0201000003000000",
  ]);
  assert.equal(client.readStream(id), null, "unread bytes are dropped");
  assert.throws(() => client.writeStream(id, new Uint8Array(1)), ConnClosedError);
  client.handleInput(frameBytes(SmuxCmd.UPD, id, encodeUpdPayload(1, 1048576))); // for a forgotten stream: ignored
  client.handleInput(frameBytes(SmuxCmd.FIN, id));
  assert.deepEqual(drainEvents(client), []);
  assert.equal(client.bucket, SNOWFLAKE_SMUX_CLIENT.maxReceiveBuffer);
  client.close();
});

Deno.test("smux UPD for a read of a stream closed before the UPD left is not sent", () => {
  const server = new SmuxMachine("server", SERVER, 0);
  server.handleInput(frameBytes(SmuxCmd.SYN, 3));
  server.acceptStream();
  server.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array(4)));
  server.readStream(3);
  server.closeStream(3);
  assert.deepEqual(drainTransmit(server).map(toHex), ["0201000003000000"]);
  server.close();
});

Deno.test("smux session close: no FIN for open streams; queued frames stay; reads end; writes fail", () => {
  const a = new SmuxMachine("client", CLIENT, 0);
  const b = new SmuxMachine("server", SERVER, 0);
  const id = a.openStream();
  a.writeStream(id, new Uint8Array([1]));
  pump(a, b);
  b.acceptStream();
  b.handleInput(frameBytes(SmuxCmd.PSH, id, new Uint8Array([2]))); // buffered before close: still readable
  a.writeStream(id, new Uint8Array([3]));
  a.close();
  assert.deepEqual(drainTransmit(a).map(toHex), ["020201000300000003"], "queued PSH stays, no FIN");
  assert.deepEqual(drainEvents(a).at(-1), { type: "closed", error: null });
  assert.equal(a.readStream(id), null);
  assert.throws(() => a.writeStream(id, new Uint8Array(1)), ConnClosedError);
  assert.throws(() => a.openStream(), ConnClosedError);
  b.close();
  assert.deepEqual(b.readStream(id), new Uint8Array([1, 2]));
  assert.equal(b.readStream(id), null);
});

Deno.test("smux protocol errors end the session: wrong version, unknown command (§8.12)", () => {
  for (
    const [bytes, code] of [
      [frameBytes(SmuxCmd.NOP, 0, undefined, 1), "invalid-version"], // v1 NOP on a v2 session
      [new Uint8Array([2, 5, 0, 0, 3, 0, 0, 0]), "unknown-command"],
    ] as const
  ) {
    const server = new SmuxMachine("server", SERVER, 0);
    server.handleInput(frameBytes(SmuxCmd.SYN, 3));
    server.handleInput(frameBytes(SmuxCmd.PSH, 3, new Uint8Array([7])));
    server.handleInput(new Uint8Array([...bytes, ...frameBytes(SmuxCmd.PSH, 3, new Uint8Array([8]))]));
    assert.equal(server.closed, true);
    assert.equal(server.error?.code, code);
    assert.deepEqual(drainEvents(server).at(-1), { type: "closed", error: server.error });
    assert.equal(server.acceptStream(), null, "the backlog is dropped");
    assert.deepEqual(server.readStream(3), new Uint8Array([7]), "data before the error is still readable");
    assert.throws(() => server.readStream(3), isCode(code));
    assert.throws(() => server.writeStream(3, new Uint8Array(1)), isCode(code));
    assert.throws(() => server.openStream(), isCode(code));
    server.handleInput(frameBytes(SmuxCmd.NOP, 0)); // ignored after the end
    assert.deepEqual(drainTransmit(server), []);
  }
});

Deno.test("smux connection end: streams with the peer's FIN end cleanly, others fail with connection-ended", () => {
  const server = new SmuxMachine("server", SERVER, 0);
  server.handleInput(frameBytes(SmuxCmd.SYN, 3));
  server.handleInput(frameBytes(SmuxCmd.SYN, 5));
  server.handleInput(frameBytes(SmuxCmd.FIN, 3));
  server.handleInputEnd();
  assert.equal(server.error?.code, "connection-ended");
  assert.equal(server.readStream(3), null);
  assert.throws(() => server.readStream(5), isCode("connection-ended"));
});

Deno.test("smux machine: an exchange split at every byte boundary gives the same streams and data", () => {
  const wire = new Uint8Array([
    ...frameBytes(SmuxCmd.SYN, 3),
    ...frameBytes(SmuxCmd.PSH, 3, new Uint8Array([1, 2, 3])),
    ...frameBytes(SmuxCmd.SYN, 5),
    ...frameBytes(SmuxCmd.UPD, 3, encodeUpdPayload(0, 1048576)),
    ...frameBytes(SmuxCmd.PSH, 5, new Uint8Array([4])),
    ...frameBytes(SmuxCmd.NOP, 0),
    ...frameBytes(SmuxCmd.PSH, 3, new Uint8Array([5, 6])),
    ...frameBytes(SmuxCmd.FIN, 3),
  ]);
  for (let cut = 0; cut <= wire.length; cut++) {
    const server = new SmuxMachine("server", SERVER, 0);
    server.handleInput(wire.subarray(0, cut));
    server.handleInput(wire.subarray(cut));
    assert.deepEqual([server.acceptStream(), server.acceptStream()], [3, 5], `cut ${cut}`);
    assert.deepEqual(server.readStream(3), new Uint8Array([1, 2, 3, 5, 6]), `cut ${cut}`);
    assert.equal(server.readStream(3), null);
    assert.deepEqual(server.readStream(5), new Uint8Array([4]));
    assert.equal(server.readStream(5), undefined);
    server.close();
  }
});
