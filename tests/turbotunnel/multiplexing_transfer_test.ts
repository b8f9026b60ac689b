/**
 * MultiplexingPacketConn in real time under KCP and smux: three in-memory
 * carriers with different rates, latencies and loss (tests/util/netem.ts on
 * real timers), the busiest killed silently twice mid-transfer (the client is
 * not told; its server side closes, as a SIGKILLed proxy's WebSocket does).
 * Both streams must arrive intact (sha256); the killed carriers must have been
 * found lost and replaced. No timing is asserted.
 */

import assert from "node:assert/strict";
import { KcpSession } from "../../lib/kcp/session.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import type { SmuxStream } from "../../lib/smux/stream.ts";
import { CarrierLostError } from "../../lib/turbotunnel/multipath_scheduler.ts";
import { MultiplexingPacketConn } from "../../lib/turbotunnel/multiplexing_packet_conn.ts";
import { concat } from "../../lib/util/bytes.ts";
import { sha256Hex as sha256 } from "../support/digest.ts";
import { Prng } from "../support/random.ts";
import { type NetemLink, type NetemPacketPair, netemPacketPair } from "../util/netem_packet_pair.ts";
import { TunnelServer } from "./tunnel_server.ts";

const LINKS: NetemLink[] = [
  { bytesPerMs: 2000, latencyMs: 10, jitterMs: 2 },
  { bytesPerMs: 1000, latencyMs: 30, jitterMs: 5, loss: 0.01 },
  { bytesPerMs: 500, latencyMs: 60, jitterMs: 10, loss: 0.02 },
];

async function readAll(stream: SmuxStream, length: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  while (got < length) {
    const chunk = await stream.read();
    assert.ok(chunk, `stream ended after ${got} of ${length} bytes`);
    chunks.push(chunk.slice());
    got += chunk.length;
  }
  return concat(chunks);
}

async function writeAll(stream: SmuxStream, data: Uint8Array): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 32 * 1024) {
    await stream.write(data.subarray(offset, Math.min(data.length, offset + 32 * 1024)));
  }
}

Deno.test("MultiplexingPacketConn: KCP+smux over 3 lossy carriers of different rates, the busiest killed twice: 8 MB down, 2 MB up intact", async () => {
  const random = new Prng(99);
  const down = random.bytes(8 * 1024 * 1024);
  const up = random.bytes(2 * 1024 * 1024);
  const server = new TunnelServer();
  const pairs = new Map<number, NetemPacketPair>();
  let dials = 0;
  const conn = new MultiplexingPacketConn(async () => {
    const attempt = dials++;
    await new Promise((resolve) => setTimeout(resolve, 50 + (attempt * 37) % 200)); // rendezvous takes a while
    const link = LINKS[attempt % LINKS.length];
    const pair = netemPacketPair(1000 + attempt * 2, link, link);
    pairs.set(attempt, pair);
    server.attach(pair.far);
    return pair.near;
  }, { max: 3, remoteAddr: "server" });
  const lost: number[] = [];
  conn.addEventListener("carrierdown", (e) => {
    if (e.reason instanceof CarrierLostError) lost.push(e.attempt);
  });
  const kcp = KcpSession.dial(conn, "server");
  const smux = SmuxSession.client(kcp);
  try {
    const [clientStream, serverStream] = await Promise.all([smux.openStream(), server.acceptStream()]);
    const killed: number[] = [];
    const killBusiest = () => {
      const stats = conn.carrierStats();
      const busiest = stats.reduce((a, b) => (b.packetsReceived > a.packetsReceived ? b : a));
      pairs.get(busiest.carrier)!.kill();
      killed.push(busiest.carrier);
    };
    const received: Uint8Array[] = [];
    let got = 0;
    const reading = (async () => {
      while (got < down.length) {
        const chunk = await clientStream.read();
        assert.ok(chunk, `download ended after ${got} bytes`);
        received.push(chunk.slice());
        got += chunk.length;
        if (
          (killed.length === 0 && got > down.length / 4) || (killed.length === 1 && got > down.length / 2)
        ) {
          killBusiest();
        }
      }
    })();
    const [uploaded] = await Promise.all([
      readAll(serverStream, up.length),
      writeAll(serverStream, down),
      writeAll(clientStream, up),
      reading,
    ]);
    assert.equal(await sha256(concat(received)), await sha256(down), "download intact");
    assert.equal(await sha256(uploaded), await sha256(up), "upload intact");
    assert.equal(killed.length, 2);
    for (const id of killed) {
      assert.ok(lost.includes(id), `killed carrier ${id} was found lost (lost: ${lost})`);
    }
    assert.ok(conn.dials >= 5, `${conn.dials} dials: replacements were dialed`);
  } finally {
    smux.close();
    kcp.close();
    conn.close();
    server.close();
    for (const pair of pairs.values()) {
      pair.near.close();
      pair.far.close();
    }
  }
});
