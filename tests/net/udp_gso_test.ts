/**
 * UdpPacketConn's segmented sends and coalesced receives (UDP_SEGMENT, UDP_GRO,
 * tests/support/udp/udp_mmsg.ts): runs of datagrams for one peer leave merged (and, on
 * loopback, reach a GRO socket still merged), yet the peer receives exactly the
 * datagrams written, in order, whatever their sizes and destinations; and when
 * the kernel refuses a segmented message (simulated here: loopback never
 * does), everything goes again as single datagrams and segmentation stays off.
 */

import assert from "node:assert/strict";
import { listenUdp, UdpPacketConn } from "../support/udp/udp.ts";
import { EIO, type Libc, libc } from "../support/udp/udp_libc.ts";
import { openUdpSocket } from "../support/udp/udp_socket.ts";

/** Datagram `i` of a test: sizes in runs (full, full, …, shorter), its index in the first 4 bytes. */
function datagram(i: number, fullSize: number): Uint8Array {
  const size = i % 7 === 6 ? 4 + (i % 50) : fullSize;
  const bytes = new Uint8Array(size);
  new DataView(bytes.buffer).setUint32(0, i);
  bytes.fill(i & 0xff, 4);
  return bytes;
}

/** Reads datagram(i) for each of `indices` from `conn`, from `from`, in that order, within 5 s. */
async function expectDatagrams(conn: UdpPacketConn, indices: number[], fullSize: number, from: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), 5000));
  try {
    for (const i of indices) {
      const got = await Promise.race([conn.readFrom(), deadline]);
      assert.ok(got !== null, `datagram ${i} did not come`);
      assert.equal(got.addr, from);
      assert.deepEqual(got.packet, datagram(i, fullSize), `datagram ${i}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

const upTo = (count: number) => Array.from({ length: count }, (_, i) => i);

for (const [gso, gro] of [[true, true], [true, false], [false, true]]) {
  Deno.test(`UdpPacketConn gso=${gso} gro=${gro}: runs for two peers, interleaved, arrive as the datagrams written`, async () => {
    const [a, b, c] = await Promise.all([listenUdp({ gso }), listenUdp({ gro }), listenUdp({ gro })]);
    try {
      if (!gso) assert.equal(a.gso, false);
      const COUNT = 3000;
      for (let i = 0; i < COUNT; i++) {
        a.writeTo(datagram(i, 1400), b.localAddr);
        if (i % 100 < 50) a.writeTo(datagram(i, 1200), c.localAddr); // runs to c break b's
      }
      await expectDatagrams(b, upTo(COUNT), 1400, a.localAddr);
      await expectDatagrams(c, upTo(COUNT).filter((i) => i % 100 < 50), 1200, a.localAddr);
      assert.equal(a.dropped, 0);
    } finally {
      for (const conn of [a, b, c]) conn.close();
      await Promise.all([a.closed, b.closed, c.closed]);
    }
  });
}

/** libc whose sendmmsg refuses any segmented message with EIO, as the kernel does on a route without checksum offload. */
function refusingLibc(): { lib: Libc; refusals: () => number } {
  const real = libc();
  const fakeErrno = new Int32Array([EIO]);
  let refused = false;
  let refusals = 0;
  const MMSGHDR_SIZE = 64;
  const MSG_CONTROLLEN = 40;
  const lib: Libc = {
    ...real,
    sendmmsg: (fd, headers, count, flags) => {
      refused = false;
      const view = new Deno.UnsafePointerView(headers!);
      let plain = 0;
      while (plain < count && view.getBigUint64(plain * MMSGHDR_SIZE + MSG_CONTROLLEN) === 0n) plain++;
      if (plain === 0 && count > 0) {
        refused = true;
        refusals++;
        return -1;
      }
      return real.sendmmsg(fd, headers, plain, flags);
    },
    __errno_location: () => refused ? Deno.UnsafePointer.of(fakeErrno) : real.__errno_location(),
  };
  return { lib, refusals: () => refusals };
}

Deno.test("UdpPacketConn: a refused segmented send goes again as single datagrams, and segmentation stops", async () => {
  const { lib, refusals } = refusingLibc();
  const socket = openUdpSocket(libc(), {
    hostname: "127.0.0.1",
    port: 0,
    receiveBufferBytes: 1 << 20,
    sendBufferBytes: 8 << 20,
    receiveTimeoutMs: 500,
    gso: true,
    gro: true,
  });
  const a = new UdpPacketConn(lib, socket);
  const b = await listenUdp({ receiveBufferBytes: 16 << 20 });
  try {
    assert.equal(a.gso, true, "this kernel has UDP_SEGMENT");
    // small datagrams: cut back into single ones, they outnumber a batch's headers, so some must wait a pass
    const COUNT = 5000;
    for (let i = 0; i < COUNT; i++) a.writeTo(datagram(i, 100), b.localAddr);
    await expectDatagrams(b, upTo(COUNT), 100, a.localAddr);
    assert.equal(refusals(), 1);
    assert.equal(a.gso, false);
    assert.equal(a.dropped, 0);
  } finally {
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
  }
});
