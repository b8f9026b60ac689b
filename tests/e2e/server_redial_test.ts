/**
 * End to end (issue item 7): a session outlives its WebSocket. The carrier is
 * killed mid-transfer and the client redials with the same ClientID: the
 * stream continues intact. And one ClientID on two WebSockets at once: the
 * server spreads the client's packets over both, and the stream is intact.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { encapsulationPacketConn } from "../../lib/encapsulation/packet_conn.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import { AsyncQueue } from "../../lib/net/async_queue.ts";
import type { Packet, PacketConn } from "../../lib/net/packet_conn.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import { ClientId } from "../../lib/turbotunnel/client_id.ts";
import { TOKEN } from "../../lib/turbotunnel/consts.ts";
import { dialWebSocket, type WebSocketConn } from "../../lib/websocket/websocket_conn.ts";
import { type ConnReader, startExtOrPortStandIn, writeAll } from "../pt/extorport_standin.ts";
import { openTurbotunnelClient } from "../server/turbotunnel_client.ts";
import { startServerProcess } from "./server_process.ts";

const SIZE = 20 * 1024 * 1024;

/** Deterministic bytes: position i holds (i * 7 + (i >> 11)) & 0xff. */
function pattern(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 7 + ((offset + i) >> 11)) & 0xff;
  return out;
}

/** Stand-in data handler: on one byte from the client, send SIZE bytes of the pattern; then echo the rest. */
async function download(conn: Deno.Conn, reader: ConnReader): Promise<void> {
  await reader.readExact(1);
  for (let offset = 0; offset < SIZE; offset += 65536) await writeAll(conn, pattern(offset, 65536));
  await reader.readSome(); // hold the connection until the client closes
}

Deno.test("e2e server: the WebSocket dies mid-download; the client redials with the same ClientID; the stream continues intact", async () => {
  const standIn = startExtOrPortStandIn({ onData: download });
  const server = await startServerProcess({ orPort: standIn.port });
  try {
    const client = await openTurbotunnelClient(`ws://127.0.0.1:${server.port}/`);
    await client.stream.write(new Uint8Array([1]));
    const hash = createHash("sha256");
    let got = 0;
    let killed = 0;
    while (got < SIZE) {
      const chunk = await client.stream.read();
      assert.ok(chunk, `stream ended after ${got} bytes`);
      hash.update(chunk);
      got += chunk.length;
      if ((killed === 0 && got > SIZE / 4) || (killed === 1 && got > SIZE / 2)) {
        client.killCarrier(); // a proxy goes away
        killed++;
      }
    }
    assert.equal(killed, 2);
    assert.ok(client.carriers.length >= 3, `${client.carriers.length} WebSockets dialed`);
    assert.equal(hash.digest("hex"), createHash("sha256").update(pattern(0, SIZE)).digest("hex"));
    assert.equal(standIn.sessions.length, 1, "one connection to tor for the whole session");
    await client.close();
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
});

/** A PacketConn over several carriers at once: writes go round-robin, reads come from any. */
class SpreadPacketConn implements PacketConn {
  readonly #incoming = new AsyncQueue<Packet>(4096);
  #next = 0;
  constructor(readonly carriers: PacketConn[]) {
    for (const carrier of carriers) {
      (async () => {
        for (let packet = await carrier.readFrom(); packet; packet = await carrier.readFrom()) {
          this.#incoming.push(packet);
        }
      })();
    }
  }
  readFrom(): Promise<Packet | null> {
    return this.#incoming.shift();
  }
  writeTo(packet: Uint8Array, addr: string): void {
    this.carriers[this.#next++ % this.carriers.length].writeTo(packet, addr);
  }
  close(): void {
    for (const carrier of this.carriers) carrier.close();
    this.#incoming.close();
  }
}

Deno.test("e2e server: one ClientID on two WebSockets at once; downstream packets use both", async () => {
  const standIn = startExtOrPortStandIn({ onData: download });
  const server = await startServerProcess({ orPort: standIn.port });
  try {
    const clientId = ClientId.random();
    const sockets: WebSocketConn[] = [];
    const carriers: PacketConn[] = [];
    for (let i = 0; i < 2; i++) {
      const ws = await dialWebSocket(`ws://127.0.0.1:${server.port}/`);
      await ws.write(TOKEN.slice());
      await ws.write(clientId.bytes.slice());
      sockets.push(ws);
      carriers.push(encapsulationPacketConn(ws, "server", { maxPacketSize: 1500 }));
    }
    const conn = new SpreadPacketConn(carriers);
    const kcp = KcpSession.dial(conn, "server");
    const smux = SmuxSession.client(kcp);
    const stream = await smux.openStream();
    await stream.write(new Uint8Array([1]));
    const hash = createHash("sha256");
    let got = 0;
    while (got < SIZE) {
      const chunk = await stream.read();
      assert.ok(chunk, `stream ended after ${got} bytes`);
      hash.update(chunk);
      got += chunk.length;
    }
    assert.equal(hash.digest("hex"), createHash("sha256").update(pattern(0, SIZE)).digest("hex"));
    for (const ws of sockets) {
      assert.ok(ws.bytesRead > SIZE / 10, `a WebSocket carried only ${ws.bytesRead} bytes`);
    }
    stream.close();
    smux.close();
    kcp.close();
    conn.close();
    await Promise.all(sockets.map((ws) => ws.closed));
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
});
