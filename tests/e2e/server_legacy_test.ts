/**
 * End to end (issue item 7): a client from before Turbo Tunnel, whose
 * WebSocket carries tor's bytes as they are (no token). The dual-mode server
 * relays them to the ORPort intact, the first 8 bytes included; with
 * -disable-legacy it refuses them, as Go 2.5.1 does.
 */

import assert from "node:assert/strict";
import { concat } from "../../lib/util/bytes.ts";
import { startExtOrPortStandIn, writeAll } from "../pt/extorport_standin.ts";
import { RawWebSocket } from "../websocket/raw_client.ts";
import { randomBytes, sha256Hex } from "../server/harness.ts";
import { startServerProcess } from "./server_process.ts";

Deno.test("e2e server: a legacy (no-token) client's bytes reach the ORPort intact, both ways", async () => {
  const upload = randomBytes(1024 * 1024);
  upload.set([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]); // starts like tor's TLS ClientHello, not the token
  const reply = randomBytes(300 * 1024);
  let received: Uint8Array = new Uint8Array(0);
  const standIn = startExtOrPortStandIn({
    async onData(conn, reader) {
      while (received.length < upload.length) {
        const chunk = await reader.readSome();
        if (!chunk) break;
        received = concat([received, chunk]);
      }
      await writeAll(conn, reply);
    },
  });
  const server = await startServerProcess({ orPort: standIn.port });
  try {
    const raw = await RawWebSocket.connect(server.port, "/?client_ip=198.51.100.9");
    const reading = raw.readToEnd();
    for (let offset = 0; offset < upload.length; offset += 10_000) {
      await raw.send(upload.subarray(offset, offset + 10_000));
    }
    const gotBack = await reading; // the stand-in closes after replying; the server then closes the WebSocket
    assert.equal(gotBack, reply.length);
    assert.equal(await sha256Hex(received), await sha256Hex(upload));
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
});

Deno.test("e2e server: -disable-legacy refuses clients without the token, and says so in the log", async () => {
  const standIn = startExtOrPortStandIn({});
  const server = await startServerProcess({
    orPort: standIn.port,
    args: ["-disable-tls", "-disable-legacy"],
  });
  try {
    const raw = await RawWebSocket.connect(server.port);
    await raw.send(new TextEncoder().encode("not the token, longer than 8 bytes"));
    assert.equal(await raw.readToEnd(), 0);
    assert.equal(standIn.sessions.length, 0);
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
  assert.match(server.log(), /received unsupported oneshot connection \(legacy mode is disabled\)/);
});
