/**
 * An idle KCP conversation gives back what traffic grew (Arq.trim; KcpSession
 * after `idleTrimMs` of quiet): the segment pool, the rings and the ACK list
 * come back to their initial size, and the next transfer is still exact.
 */
import assert from "node:assert/strict";
import { ACK_SLOTS_KEPT, Arq, type ArqFootprint, SPARE_SEGMENTS_KEPT } from "../../lib/kcp/arq.ts";
import { KcpListener } from "../../lib/kcp/listener.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import { memoryPacketPair } from "../support/memory.ts";
import { concat } from "../../lib/util/bytes.ts";
import { Netem, Prng, Simulation } from "../util/netem.ts";
import { ArqPeer } from "./arq_peer.ts";
import { flushTo, sha256 } from "./helpers.ts";

const LINK = { latencyMs: 20, jitterMs: 10, reorder: 0.05, reorderDelayMs: 30, duplicate: 0.02, loss: 0.01 };

/** The footprint of a machine that has never carried traffic. */
const FRESH: ArqFootprint = new Arq(1, SNOWFLAKE_KCP_OPTIONS).footprint;

function assertSmall(footprint: ArqFootprint, side: string): void {
  assert.ok(
    footprint.spareSegments <= SPARE_SEGMENTS_KEPT,
    `${side}: ${footprint.spareSegments} spare segments`,
  );
  assert.equal(footprint.ringSlots, FRESH.ringSlots, `${side}: ring slots`);
  assert.ok(footprint.ackSlots <= 2 * ACK_SLOTS_KEPT, `${side}: ${footprint.ackSlots} ACK slots`);
}

/** Moves `bytes` each way between two Arqs over a lossy link, then runs on until both are idle. */
async function transfer(a: Arq, b: Arq, bytes: number, seed: number, start: number): Promise<number> {
  const random = new Prng(seed);
  const aToB = new Netem({ seed: seed + 1, ...LINK });
  const bToA = new Netem({ seed: seed + 2, ...LINK });
  const peerA = new ArqPeer(a, aToB, random.bytes(bytes), seed + 3);
  const peerB = new ArqPeer(b, bToA, random.bytes(bytes), seed + 4);
  const sim = new Simulation(peerA, peerB, aToB, bToA, start);
  const done = () =>
    peerA.receivedBytes === bytes && peerB.receivedBytes === bytes && a.idle && b.idle &&
    a.readableBytes === 0 && b.readableBytes === 0;
  for (let steps = 0; steps < 2_000_000 && !done(); steps++) {
    if (sim.progress() === Infinity || sim.now > start + 600_000) break;
  }
  assert.ok(done(), `stalled at ${sim.now} ms: a read ${peerA.receivedBytes}, b read ${peerB.receivedBytes}`);
  assert.equal(await sha256(concat(peerB.received)), await sha256(peerA.source), "a → b");
  assert.equal(await sha256(concat(peerA.received)), await sha256(peerB.source), "b → a");
  return sim.now;
}

Deno.test("Arq.trim: after 1 MB each way over a lossy link, the idle pair shrinks to a fresh footprint; the next transfer is exact", async () => {
  const a = new Arq(0x1234, SNOWFLAKE_KCP_OPTIONS);
  const b = new Arq(0x1234, SNOWFLAKE_KCP_OPTIONS);
  const now = await transfer(a, b, 1_000_000, 21, 0);
  for (const [arq, side] of [[a, "a"], [b, "b"]] as const) {
    assert.ok(arq.canTrim, `${side}: traffic grew something`);
    assert.ok(arq.footprint.spareSegments > SPARE_SEGMENTS_KEPT, `${side}: segments pooled`);
    assert.ok(arq.footprint.ringSlots > FRESH.ringSlots, `${side}: rings grew`);
    arq.trim();
    assertSmall(arq.footprint, side);
    assert.equal(arq.canTrim, false, `${side}: nothing left to give back`);
  }
  await transfer(a, b, 300_000, 31, now + 1000);
});

Deno.test("Arq.trim does nothing while data is in flight or unread", () => {
  const a = new Arq(1, SNOWFLAKE_KCP_OPTIONS);
  const b = new Arq(1, SNOWFLAKE_KCP_OPTIONS);
  a.send(new Uint8Array(200_000), 0);
  flushTo(a, 0, (packet) => b.handleInput(0, packet));
  assert.equal(a.canTrim, false, "unacknowledged data");
  const before = a.footprint;
  a.trim();
  assert.deepEqual(a.footprint, before);
  // b does not read; the window (32 segments at first, then b's) lets everything through in a few rounds
  for (let now = 10; now < 1000 && !a.idle; now += 10) {
    flushTo(b, now, (packet) => a.handleInput(now, packet));
    flushTo(a, now, (packet) => b.handleInput(now, packet));
  }
  assert.ok(a.idle && a.canTrim, "everything acknowledged");
  assert.equal(b.readableBytes, 200_000);
  assert.equal(b.canTrim, false, "received data not yet read");
  while (b.read() !== null);
  assert.ok(b.canTrim, "all read");
});

/** Records the footprint of `arq` just before each trim the session makes. */
function watchTrims(arq: Arq): ArqFootprint[] {
  const seen: ArqFootprint[] = [];
  const trim = arq.trim.bind(arq);
  arq.trim = () => {
    seen.push(arq.footprint);
    trim();
  };
  return seen;
}

Deno.test("KcpSession: after a transfer both sides, once idle for idleTrimMs, give back what it grew", async () => {
  const [clientConn, serverConn] = memoryPacketPair(4096, ["client", "server"]);
  const listener = new KcpListener(serverConn, { ownConn: true, idleTrimMs: 20 });
  const client = KcpSession.dial(clientConn, "server", { ownConn: true, idleTrimMs: 20 });
  const clientTrims = watchTrims(client.arq);
  const data = new Prng(41).bytes(1_000_000);
  const writing = client.write(data);
  const server = (await listener.accept())!;
  const serverTrims = watchTrims(server.arq);
  const parts: Uint8Array[] = [];
  for (let got = 0; got < data.length;) {
    const chunk = (await server.read())!;
    parts.push(chunk);
    got += chunk.length;
  }
  await writing;
  assert.equal(await sha256(concat(parts)), await sha256(data));
  // bounded wait for the trim timers; the assertions are about footprints, not the time taken
  for (let i = 0; i < 500 && (clientTrims.length === 0 || serverTrims.length === 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(clientTrims.length > 0 && serverTrims.length > 0, "both sides trimmed once idle");
  assert.ok(clientTrims[0].spareSegments > SPARE_SEGMENTS_KEPT, "the sender had pooled segments");
  assertSmall(client.arq.footprint, "client");
  assertSmall(server.arq.footprint, "server");
  assert.notDeepEqual(serverTrims[0], server.arq.footprint, "the receiver gave something back");
  client.close();
  listener.close();
  await Promise.all([client.closed, server.closed]);
});
