/**
 * End to end (issue 15, item 3): our server with several WebSockets for one
 * ClientID, under a client that stripes its packets across them
 * (MultiplexingPacketConn, max 3). The server spreads the client's packets
 * over every WebSocket of that ClientID (SNOWFLAKE-PROTOCOL.md §8.4, as Go's
 * server does: one queue per ClientID, drained by whichever WebSocket is
 * free). Two WebSockets are closed mid-transfer, as proxies that go away, and
 * replaced; padding chunks follow the ClientID and shape idle periods. Both
 * directions arrive intact (sha256) over one connection to tor.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { encodePadding } from "../../lib/encapsulation/codec.ts";
import { encapsulationPacketConn } from "../../lib/encapsulation/packet_conn.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import { ClientId } from "../../lib/turbotunnel/client_id.ts";
import { TOKEN } from "../../lib/turbotunnel/consts.ts";
import { MultiplexingPacketConn } from "../../lib/turbotunnel/multiplexing_packet_conn.ts";
import { dialWebSocket, type WebSocketConn } from "../../lib/websocket/websocket_conn.ts";
import { type ConnReader, startExtOrPortStandIn, writeAll } from "../pt/extorport_standin.ts";
import { startServerProcess } from "./server_process.ts";

const DOWN = 20 * 1024 * 1024;
const UP = 4 * 1024 * 1024;

/** Deterministic bytes: position i holds (i * 7 + (i >> 11) + salt) & 0xff. */
function pattern(offset: number, length: number, salt = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 7 + ((offset + i) >> 11) + salt) & 0xff;
  return out;
}

const digest = (salt: number, size: number) => {
  const hash = createHash("sha256");
  for (let offset = 0; offset < size; offset += 65536) {
    hash.update(pattern(offset, Math.min(65536, size - offset), salt));
  }
  return hash.digest("hex");
};

Deno.test("e2e server: one ClientID on 3 striped WebSockets, 2 of them closed and replaced mid-transfer: 20 MB down, 4 MB up intact", async () => {
  let upload!: (hex: string) => void;
  const uploaded = new Promise<string>((resolve) => upload = resolve);
  const standIn = startExtOrPortStandIn({
    async onData(conn: Deno.Conn, reader: ConnReader) {
      await reader.readExact(1);
      const receiving = (async () => {
        const hash = createHash("sha256");
        for (let got = 0; got < UP;) {
          const chunk = await reader.readSome();
          if (!chunk) break;
          hash.update(chunk);
          got += chunk.length;
        }
        upload(hash.digest("hex"));
      })();
      for (let offset = 0; offset < DOWN; offset += 65536) await writeAll(conn, pattern(offset, 65536, 1));
      await receiving;
      await reader.readSome(); // hold the connection until the client closes
    },
  });
  const server = await startServerProcess({ orPort: standIn.port });
  const sockets: WebSocketConn[] = [];
  const clientId = ClientId.random();
  const conn = new MultiplexingPacketConn(async () => {
    const ws = await dialWebSocket(`ws://127.0.0.1:${server.port}/`, { timeoutMs: 10_000 });
    sockets.push(ws);
    await ws.write(TOKEN.slice());
    await ws.write(clientId.bytes.slice());
    await ws.write(encodePadding(100 + sockets.length * 300)); // padding after the ClientID (§2.3)
    return encapsulationPacketConn(ws, "server", { maxPacketSize: 1500, sendQueueSize: 2048 });
  }, { max: 3, remoteAddr: "server", idlePadding: { idleMs: 50, minBytes: 16, maxBytes: 600 } });
  const kcp = KcpSession.dial(conn, "server");
  const smux = SmuxSession.client(kcp);
  try {
    const stream = await smux.openStream();
    await stream.write(new Uint8Array([1]));
    const sending = (async () => {
      for (let offset = 0; offset < UP; offset += 32768) await stream.write(pattern(offset, 32768, 2));
    })();
    const hash = createHash("sha256");
    let killed = 0;
    for (let got = 0; got < DOWN;) {
      const chunk = await stream.read();
      assert.ok(chunk, `stream ended after ${got} bytes`);
      hash.update(chunk);
      got += chunk.length;
      if ((killed === 0 && got > DOWN / 4) || (killed === 1 && got > DOWN / 2)) {
        const live = sockets.filter((ws) => ws.closeReason === "");
        live.reduce((a, b) => (b.bytesRead > a.bytesRead ? b : a)).close(); // the busiest proxy goes away
        killed++;
      }
    }
    await sending;
    assert.equal(hash.digest("hex"), digest(1, DOWN), "download intact");
    assert.equal(await uploaded, digest(2, UP), "upload intact");
    assert.equal(standIn.sessions.length, 1, "one connection to tor for the whole session");
    assert.ok(sockets.length >= 5, `${sockets.length} WebSockets dialed (3, then 2 replacements)`);
    const carried = sockets.slice(0, 3);
    for (const ws of carried) {
      assert.ok(
        ws.bytesRead > DOWN / 20,
        `the server sent only ${ws.bytesRead} bytes on one of the first three`,
      );
      assert.ok(
        ws.bytesWritten > UP / 20,
        `the client sent only ${ws.bytesWritten} bytes on one of the first three`,
      );
    }
  } finally {
    smux.close();
    kcp.close();
    conn.close();
    await Promise.all(sockets.map((ws) => ws.closed));
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
});
