/**
 * UdpPacketConn (tests/support/udp/udp.ts): the PacketConn conformance suite over IPv4
 * and IPv6 loopback, and what is particular to a kernel socket: buffer sizes,
 * drop counting (ours and the kernel's), dual stack, bind failures, a flush at
 * close, and a receive that outlives its timeout.
 */

import assert from "node:assert/strict";
import {
  formatUdpAddr,
  listenUdp,
  parseUdpAddr,
  RECEIVE_BATCH,
  type UdpPacketConn,
} from "../support/udp/udp.ts";
import { runPacketConnCases } from "./packet_conn_cases.ts";

/** Kernel receive buffer of the suite's pairs: at least 16 full-size datagrams, yet the flood case overruns it. */
const SUITE_RECEIVE_BUFFER = 64 << 10;
/** Too small for a burst of small datagrams. */
const SMALL_RECEIVE_BUFFER = 4096;
/** Below the kernel's accounting of any datagram (sk_buff and shared info alone are larger). */
const MIN_TRUESIZE = 256;

for (const hostname of ["127.0.0.1", "::1"]) {
  runPacketConnCases({
    name: `UdpPacketConn ${hostname}`,
    makePair: async () => {
      // gro off: the capacity below counts one datagram per kernel buffer entry (udp_gso_test.ts covers GRO)
      const options = { hostname, receiveBufferBytes: SUITE_RECEIVE_BUFFER, gro: false };
      const [a, b] = await Promise.all([listenUdp(options), listenUdp(options)]);
      return {
        a,
        b,
        aAddr: a.localAddr,
        bAddr: b.localAddr,
        // b's kernel buffer and one receive batch (a's sends leave synchronously)
        capacity: Math.ceil(b.receiveBufferBytes / MIN_TRUESIZE) + RECEIVE_BATCH,
        maxPacketSize: 65507,
        close: () => Promise.all([a.closed, b.closed]).then(() => {}),
      };
    },
  });
}

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

Deno.test("UdpPacketConn: binds where asked, with the socket buffers asked for", async () => {
  const rmemMax = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max"));
  const wmemMax = Number(Deno.readTextFileSync("/proc/sys/net/core/wmem_max"));
  const [v4, v6] = await Promise.all([
    listenUdp({ receiveBufferBytes: 3 << 20, sendBufferBytes: 1 << 20 }),
    listenUdp({ hostname: "::1" }),
  ]);
  try {
    assert.match(v4.localAddr, /^127\.0\.0\.1:\d+$/);
    assert.match(v6.localAddr, /^\[::1\]:\d+$/);
    // The kernel doubles what it is given; without CAP_NET_ADMIN it caps at the sysctls first.
    assert.ok(v4.receiveBufferBytes >= 2 * Math.min(3 << 20, rmemMax), `SO_RCVBUF ${v4.receiveBufferBytes}`);
    assert.ok(v4.sendBufferBytes >= 2 * Math.min(1 << 20, wmemMax), `SO_SNDBUF ${v4.sendBufferBytes}`);
    assert.ok(
      v6.receiveBufferBytes >= 2 * Math.min(8 << 20, rmemMax),
      `default SO_RCVBUF ${v6.receiveBufferBytes}`,
    );
  } finally {
    await closeAll(v4, v6);
  }
});

Deno.test("UdpPacketConn: rejects when it cannot bind, saying why", async () => {
  const a = await listenUdp();
  try {
    const port = Number(a.localAddr.split(":")[1]);
    await assert.rejects(
      () => listenUdp({ port }),
      /^Error: UDP listen on 127\.0\.0\.1:\d+ failed: bind: Address already in use \(errno 98\)$/,
    );
    await assert.rejects(
      () => listenUdp({ hostname: "localhost" }),
      /failed: not an IP address: "localhost"/,
    );
    await assert.rejects(() => listenUdp({ hostname: "192.0.2.1" }), /\[?192\.0\.2\.1\]?:0 failed: bind: /);
  } finally {
    await closeAll(a);
  }
});

Deno.test("UdpPacketConn: writeTo throws on a malformed address and drops an unreachable family", async () => {
  const [v4, v6] = await Promise.all([listenUdp(), listenUdp({ hostname: "::1" })]);
  try {
    for (
      const bad of ["localhost:53", "1.2.3:53", "01.2.3.4:53", "[::1::2]:53", "[1:2:3:4:5:6:7:8:9]:53", "x"]
    ) {
      assert.throws(() => v4.writeTo(new Uint8Array([1]), bad), RangeError, bad);
    }
    v4.writeTo(new Uint8Array([1]), v6.localAddr); // IPv6 from an IPv4 socket
    assert.equal(v4.dropped, 1);
  } finally {
    await closeAll(v4, v6);
  }
});

Deno.test("UdpPacketConn: a dual-stack socket sees IPv4 peers as plain IPv4 and answers them", async () => {
  const [any6, v4] = await Promise.all([listenUdp({ hostname: "::" }), listenUdp()]);
  try {
    const port = Number(/:(\d+)$/.exec(any6.localAddr)![1]);
    assert.equal(any6.localAddr, `[::]:${port}`);
    v4.writeTo(new Uint8Array([1, 2]), `127.0.0.1:${port}`);
    const got = await soon(any6.readFrom());
    assert.deepEqual(got, { packet: new Uint8Array([1, 2]), addr: v4.localAddr });
    any6.writeTo(new Uint8Array([3]), got.addr); // sent IPv4-mapped
    assert.deepEqual(await soon(v4.readFrom()), { packet: new Uint8Array([3]), addr: `127.0.0.1:${port}` });
  } finally {
    await closeAll(any6, v4);
  }
});

Deno.test("UdpPacketConn: what was written before close is sent", async () => {
  const [a, b] = await Promise.all([listenUdp(), listenUdp()]);
  try {
    for (let i = 0; i < 3; i++) a.writeTo(new Uint8Array([i]), b.localAddr);
    a.close();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await soon(b.readFrom()), { packet: new Uint8Array([i]), addr: a.localAddr });
    }
  } finally {
    await closeAll(a, b);
  }
});

Deno.test("UdpPacketConn: a send to a closed port is dropped, and the socket keeps working", async () => {
  const [a, b, gone] = await Promise.all([listenUdp(), listenUdp(), listenUdp()]);
  const goneAddr = gone.localAddr;
  await closeAll(gone);
  try {
    // The kernel may answer with ICMP port unreachable; it must not stop a's receiving.
    for (let i = 0; i < 8; i++) a.writeTo(new Uint8Array([i]), goneAddr);
    await new Promise((resolve) => setTimeout(resolve, 0)); // a's batch leaves at the end of the task; loopback answers at once
    b.writeTo(new Uint8Array([42]), a.localAddr);
    assert.deepEqual(await soon(a.readFrom()), { packet: new Uint8Array([42]), addr: b.localAddr });
  } finally {
    await closeAll(a, b);
  }
});

Deno.test("UdpPacketConn: concurrent readFrom calls are answered in order", async () => {
  const [a, b] = await Promise.all([listenUdp(), listenUdp()]);
  try {
    const pending = [a.readFrom(), a.readFrom(), a.readFrom()];
    for (let i = 0; i < 3; i++) b.writeTo(new Uint8Array([i]), a.localAddr);
    const got = await soon(Promise.all(pending));
    assert.deepEqual(got.map((p) => p?.packet), [0, 1, 2].map((i) => new Uint8Array([i])));
  } finally {
    await closeAll(a, b);
  }
});

Deno.test("UdpPacketConn: keeps receiving after an idle spell longer than its receive timeout", async () => {
  const [a, b] = await Promise.all([listenUdp({ receiveTimeoutMs: 20 }), listenUdp()]);
  try {
    const pending = a.readFrom();
    // The blocked receive times out and is re-issued, twice, before anything comes.
    await until(() => a.receiveTimeouts >= 2, "two receive timeouts");
    b.writeTo(new Uint8Array([7]), a.localAddr);
    assert.deepEqual(await soon(pending), { packet: new Uint8Array([7]), addr: b.localAddr });
    assert.equal(a.error, null);
  } finally {
    await closeAll(a, b);
  }
});

Deno.test("UdpPacketConn: counts what the kernel drops at a full receive buffer", async () => {
  const SENT = 4000;
  // gro off: a run the kernel drops whole (GRO) counts as one drop, so the count would not be per datagram
  const [a, b] = await Promise.all([
    listenUdp({ receiveBufferBytes: SMALL_RECEIVE_BUFFER, gro: false }),
    listenUdp(),
  ]);
  try {
    // Nobody reads a yet: its kernel buffer keeps what fits and drops the rest.
    for (let i = 0; i < SENT; i++) {
      const packet = new Uint8Array(64);
      new DataView(packet.buffer).setUint32(0, i);
      b.writeTo(packet, a.localAddr); // out in a few sendmmsg calls
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // b's last batch leaves at the end of the task
    const received: number[] = [];
    for (;;) {
      const got = await soon(a.readFrom());
      if (got!.packet.length === 1) break; // the marker: everything before it has been read
      received.push(new DataView(got!.packet.buffer, got!.packet.byteOffset).getUint32(0));
      // a has room again; the marker follows whatever the kernel kept
      if (received.length === 1) b.writeTo(new Uint8Array([0xff]), a.localAddr);
    }
    assert.equal(b.dropped, 0);
    assert.ok(received.length > 0 && received.length < SENT, `kept ${received.length}`);
    assert.ok(received.every((seq, i) => i === 0 || seq > received[i - 1]), "in order");
    assert.equal(a.dropped, SENT - received.length, "every datagram read or counted as dropped");
    assert.equal(a.dropped, procNetUdpDrops(Number(a.localAddr.split(":")[1])), "the kernel's own count");
  } finally {
    await closeAll(a, b);
  }
});

/** The kernel's drop count for the IPv4 UDP socket on `port` (/proc/net/udp, last column). */
function procNetUdpDrops(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const line = Deno.readTextFileSync("/proc/net/udp").split("\n").find((l) =>
    l.trim().split(/\s+/)[1]?.endsWith(`:${hexPort}`)
  );
  assert.ok(line, `socket on port ${port} in /proc/net/udp`);
  return Number(line.trim().split(/\s+/).at(-1));
}

/** Resolves once `condition()` holds, looking again every 5 ms; fails after 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    if (i >= 1000) assert.fail(`no ${what} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `promise`, or a failure after 5 s (a lost datagram must fail the test, not hang it). */
async function soon<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("nothing within 5 s")), 5000);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeAll(...conns: UdpPacketConn[]): Promise<void> {
  for (const conn of conns) conn.close();
  await Promise.all(conns.map((conn) => conn.closed));
}

Deno.test("UdpPacketConn: readBatch hands over a receive's datagrams in order, after what readFrom left", async () => {
  const [a, b] = await Promise.all([listenUdp(), listenUdp()]);
  try {
    for (let i = 0; i < 10; i++) b.writeTo(new Uint8Array([i]), a.localAddr);
    await new Promise((resolve) => setTimeout(resolve, 0)); // b's batch leaves at the end of the task
    assert.deepEqual((await soon(a.readFrom()))?.packet, new Uint8Array([0]));
    const got: number[] = [];
    while (got.length < 9) {
      const batch = await soon(a.readBatch());
      assert.ok(batch !== null && batch.length > 0);
      for (const { packet, addr } of batch) {
        assert.equal(addr, b.localAddr);
        got.push(packet[0]);
      }
    }
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    a.close();
    assert.equal(await a.readBatch(), null);
  } finally {
    await closeAll(a, b);
  }
});
