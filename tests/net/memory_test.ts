import assert from "node:assert/strict";
import { memoryByteConnPair, memoryPacketPair } from "../support/memory.ts";
import { ConnClosedError } from "../../lib/net/packet_conn.ts";

Deno.test("memoryPacketPair: packets cross with the sender's name; drops at the bound", async () => {
  const [a, b] = memoryPacketPair(2, ["client", "server"]);
  a.writeTo(new Uint8Array([1]), "ignored");
  a.writeTo(new Uint8Array([2]), "ignored");
  a.writeTo(new Uint8Array([3]), "ignored"); // dropped: queue of 2 is full
  assert.deepEqual(await b.readFrom(), { packet: new Uint8Array([1]), addr: "client" });
  assert.deepEqual(await b.readFrom(), { packet: new Uint8Array([2]), addr: "client" });
  b.writeTo(new Uint8Array([9]), "client");
  assert.deepEqual((await a.readFrom())?.addr, "server");
  b.close();
  assert.equal(await b.readFrom(), null);
  assert.throws(() => b.writeTo(new Uint8Array(1), "x"), ConnClosedError);
  a.close();
});

Deno.test("memoryByteConnPair: bytes in order, back-pressure, EOF after close", async () => {
  const [a, b] = memoryByteConnPair(4);
  let written = false;
  const write = a.write(new Uint8Array([1, 2, 3, 4, 5])).then(() => written = true);
  await Promise.resolve();
  assert.equal(written, false, "writer waits while more than the window is unread");
  assert.deepEqual(await b.read(), new Uint8Array([1, 2, 3, 4, 5]));
  await write;
  await a.write(new Uint8Array([6]));
  await a.write(new Uint8Array([7]));
  assert.deepEqual(await b.read(), new Uint8Array([6, 7]));
  a.close();
  assert.equal(await b.read(), null);
  await assert.rejects(a.write(new Uint8Array([1])), ConnClosedError);
});
