/**
 * KCP over a PacketConn with the extensions of lib/kcp/packet_conn_extensions.ts
 * (as UdpPacketConn has them). readBatch: every packet of a batch goes in
 * before the session delivers, so a waiting reader gets the whole batch's data
 * at once; routing, drops and the client's source check are those of
 * packet-by-packet input. copiesOnWrite: packets are encoded into one reused
 * buffer, byte for byte what fresh buffers get.
 */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { KcpListener } from "../../lib/kcp/listener.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import type { Packet } from "../../lib/net/packet_conn.ts";
import { flushTo, packetOf, RecordingPacketConn } from "./helpers.ts";

/** A RecordingPacketConn whose packets arrive through readBatch, in the batches given to {@link deliver}. */
class BatchConn extends RecordingPacketConn {
  #batches: Packet[][] = [];
  #waiter: ((batch: Packet[] | null) => void) | null = null;
  batchReads = 0;

  readBatch(): Promise<Packet[] | null> {
    this.batchReads++;
    const batch = this.#batches.shift();
    if (batch !== undefined) return Promise.resolve(batch);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiter = resolve);
  }

  deliver(batch: Packet[]): void {
    if (this.#waiter === null) this.#batches.push(batch);
    else this.#waiter(batch);
    this.#waiter = null;
  }

  override close(): void {
    super.close();
    this.#waiter?.(null);
    this.#waiter = null;
  }
}

const push = (conv: number, sn: number, text: string) =>
  packetOf({ conv, sn, data: new TextEncoder().encode(text) });
const text = (data: Uint8Array | null) => data === null ? null : new TextDecoder().decode(data);

Deno.test("KcpListener over batches: routes each packet, drops bad ones, delivers a batch's data at once", async () => {
  const conn = new BatchConn();
  const listener = new KcpListener(conn, { idleTimeoutMs: 0 });
  try {
    conn.deliver([
      { packet: push(1, 0, "a"), addr: "x" },
      { packet: new Uint8Array(10), addr: "y" }, // shorter than a header: dropped
      { packet: push(5, 0, "z"), addr: "w" },
    ]);
    const x = (await listener.accept())!;
    const w = (await listener.accept())!;
    assert.deepEqual([x.conv, x.remoteAddr, w.conv, w.remoteAddr], [1, "x", 5, "w"]);
    assert.equal(listener.stats.dropped["short-packet"], 1);
    assert.equal(text(await x.read()), "a");
    assert.equal(text(await w.read()), "z");

    const reading = x.read(); // waits: the next batch's two segments come in one piece
    conn.deliver([{ packet: push(1, 1, "b"), addr: "x" }, { packet: push(1, 2, "c"), addr: "x" }]);
    assert.equal(text(await reading), "bc");
    assert.equal(x.stats.packetsIn, 3);
    assert.ok(conn.batchReads >= 2, "the listener read through readBatch");
  } finally {
    listener.close();
  }
});

Deno.test("KcpSession.dial over batches: keeps to the first source, packet by packet within a batch", async () => {
  const conn = new BatchConn();
  const session = KcpSession.dial(conn, "server", { conv: 9 });
  try {
    const reading = session.read();
    conn.deliver([
      { packet: push(9, 0, "one"), addr: "server" },
      { packet: push(9, 1, "evil"), addr: "elsewhere" }, // a second source: dropped, as kcp-go's read loop does
      { packet: push(9, 1, "two"), addr: "server" },
    ]);
    assert.equal(text(await reading), "onetwo");
    assert.equal(session.stats.inputErrors, 1);
    assert.equal(session.stats.lastError?.code, "foreign-source");
  } finally {
    session.close();
    conn.close();
  }
});

Deno.test("Arq with reusePacketBuffer: the same packets, byte for byte, encoded into one buffer", () => {
  const data = new Uint8Array(20_000).map((_, i) => i * 7);
  const run = (reusePacketBuffer: boolean) => {
    const arq = new Arq(42, SNOWFLAKE_KCP_OPTIONS, { reusePacketBuffer });
    arq.send(data, 0);
    arq.handleInput(0, packetOf({ conv: 42, cmd: 81, sn: 0, data: new Uint8Array(5) })); // an ACK to send too
    const packets: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    flushTo(arq, 0, (packet) => {
      packets.push(packet.slice()); // what a copying conn does
      buffers.add(packet.buffer);
    });
    return { packets, buffers };
  };
  const fresh = run(false);
  const reused = run(true);
  assert.ok(fresh.packets.length > 10);
  assert.deepEqual(reused.packets, fresh.packets);
  assert.equal(reused.buffers.size, 1);
});
