/** UdpPacketConn (lib/net/udp.ts): the PacketConn conformance suite over loopback, and its address handling. */

import assert from "node:assert/strict";
import { formatUdpAddr, listenUdp, parseUdpAddr, type UdpPacketConn } from "../../lib/net/udp.ts";
import { runPacketConnCases } from "./packet_conn_cases.ts";

const QUEUE = 64;
const PENDING_SENDS = 64;

runPacketConnCases({
  name: "UdpPacketConn",
  makePair: async () => {
    const options = { queueSize: QUEUE, maxPendingSends: PENDING_SENDS };
    const [a, b] = await Promise.all([listenUdp(options), listenUdp(options)]);
    return {
      a,
      b,
      aAddr: a.localAddr,
      bAddr: b.localAddr,
      // a's send batch and its worker's send queue, then b's worker's queue and b's own.
      capacity: 2 * PENDING_SENDS + 2 * QUEUE,
      maxPacketSize: 65507,
      close: () => Promise.all([a.closed, b.closed]).then(() => {}),
    };
  },
});

Deno.test("UdpPacketConn: parses and formats host:port", () => {
  assert.deepEqual(parseUdpAddr("127.0.0.1:5000"), { transport: "udp", hostname: "127.0.0.1", port: 5000 });
  assert.deepEqual(parseUdpAddr("[::1]:53"), { transport: "udp", hostname: "::1", port: 53 });
  assert.equal(formatUdpAddr({ transport: "udp", hostname: "::1", port: 53 }), "[::1]:53");
  assert.equal(formatUdpAddr({ transport: "udp", hostname: "10.0.0.1", port: 7 }), "10.0.0.1:7");
  for (
    const bad of [
      "127.0.0.1", // no port
      "127.0.0.1:", // empty port
      "127.0.0.1:70000", // port out of range
      "::1:53", // IPv6 without brackets
      "[::1]", // no port
      "", // nothing
    ]
  ) {
    assert.throws(() => parseUdpAddr(bad), RangeError, bad);
  }
});

Deno.test("UdpPacketConn: rejects when it cannot bind", async () => {
  const a = await listenUdp();
  try {
    const port = Number(a.localAddr.split(":")[1]);
    await assert.rejects(() => listenUdp({ port }), /UDP listen on 127\.0\.0\.1:\d+ failed/);
  } finally {
    await closeAll(a);
  }
});

Deno.test("UdpPacketConn: a send to a closed port is dropped, and the socket keeps working", async () => {
  const [a, b, gone] = await Promise.all([listenUdp(), listenUdp(), listenUdp()]);
  const goneAddr = gone.localAddr;
  gone.close();
  await gone.closed;
  try {
    // The kernel may answer with ICMP port unreachable, surfaced on a's next receive.
    for (let i = 0; i < 8; i++) a.writeTo(new Uint8Array([i]), goneAddr);
    await new Promise((resolve) => setTimeout(resolve, 20));
    b.writeTo(new Uint8Array([42]), a.localAddr);
    const got = await a.readFrom();
    assert.deepEqual(got, { packet: new Uint8Array([42]), addr: b.localAddr });
  } finally {
    await closeAll(a, b);
  }
});

Deno.test("UdpPacketConn: drops what its full receive queues cannot hold, and counts it", async () => {
  const [a, b] = await Promise.all([listenUdp({ queueSize: 4 }), listenUdp()]);
  try {
    for (let i = 0; i < 32; i++) b.writeTo(new Uint8Array([i]), a.localAddr);
    // Nobody reads a: its queue (4) and its worker's (4) fill up, the rest is dropped.
    for (let tries = 0; tries < 200 && a.dropped < 32 - 8; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(a.dropped >= 32 - 8 && a.dropped <= 32 - 4, `dropped ${a.dropped}`);
    for (let i = 0; i < 4; i++) assert.deepEqual((await a.readFrom())?.packet, new Uint8Array([i]));
  } finally {
    await closeAll(a, b);
  }
});

async function closeAll(...conns: UdpPacketConn[]): Promise<void> {
  for (const conn of conns) conn.close();
  await Promise.all(conns.map((conn) => conn.closed));
}
