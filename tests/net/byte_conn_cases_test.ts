/**
 * The ByteConn conformance suite over every implementation: the in-memory
 * pair, both WebSocket conns (the W3C one that dials, our server one; loopback), an smux stream, a KCP session and the
 * tor connection (both TCP DuplexConns of lib/pt/or_conn.ts, loopback).
 */

import { KcpListener } from "../../lib/kcp/listener.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import type { ByteConn } from "../../lib/net/byte_conn.ts";
import { createConnection } from "node:net";
import { denoDuplexConn, nodeDuplexConn } from "../../lib/pt/or_conn.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import { RequestHeadReader, switchingProtocolsResponse } from "../../lib/websocket/handshake.ts";
import { serverWebSocketConn } from "../../lib/websocket/server_conn.ts";
import { dialWebSocket, webSocketConn } from "../../lib/websocket/websocket_conn.ts";
import { systemClock } from "../../lib/util/clock.ts";
import { memoryByteConnPair, memoryPacketPair } from "../support/memory.ts";
import { runByteConnCases } from "./byte_conn_cases.ts";

runByteConnCases({
  name: "memoryByteConnPair",
  makePair: () => {
    const [a, b] = memoryByteConnPair();
    return { a, b };
  },
});

runByteConnCases({
  name: "webSocketConn",
  makePair: async () => {
    const accepted = Promise.withResolvers<ByteConn>();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      accepted.resolve(webSocketConn(socket));
      return response;
    });
    const a = await dialWebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    return { a, b: await accepted.promise, close: () => server.shutdown() };
  },
});

runByteConnCases({
  name: "serverWebSocketConn",
  makePair: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const upgraded = (async () => {
      const raw = await listener.accept();
      const socket = denoDuplexConn(raw);
      const reader = new RequestHeadReader();
      for (;;) {
        const bytes = await socket.read();
        if (bytes === null) throw new Error("no upgrade request");
        const request = reader.push(bytes);
        if (request === null) continue;
        await socket.write(switchingProtocolsResponse(request.head.headers.get("sec-websocket-key")!));
        // No sweeper: the deadlines of this pair never expire.
        return serverWebSocketConn(raw, request.rest, {
          clock: systemClock,
          deadlines: { add: (entry) => entry, remove: () => {} },
        });
      }
    })();
    const b = await dialWebSocket(`ws://127.0.0.1:${listener.addr.port}/`);
    const a = await upgraded;
    listener.close();
    return { a, b };
  },
});

runByteConnCases({
  name: "SmuxStream",
  makePair: async () => {
    const [left, right] = memoryByteConnPair();
    const client = SmuxSession.client(left);
    const server = SmuxSession.server(right);
    const a = await client.openStream();
    await a.write(new Uint8Array([0])); // a stream reaches the peer with its first frame
    const b = (await server.acceptStream())!;
    await b.read();
    return {
      a,
      b,
      close: () => {
        client.close();
        server.close();
      },
    };
  },
});

runByteConnCases({
  name: "KcpSession",
  closeReachesPeer: false, // KCP has no FIN; smux above it carries the end of stream
  makePair: async () => {
    const [clientConn, serverConn] = memoryPacketPair(4096, ["client", "server"]);
    const listener = new KcpListener(serverConn, { ownConn: true });
    const a = KcpSession.dial(clientConn, "server", { ownConn: true });
    await a.write(new Uint8Array([0])); // the first packet makes the server session
    const b = (await listener.accept())!;
    await b.read();
    return { a, b, close: () => listener.close() };
  },
});

runByteConnCases({
  name: "denoDuplexConn (tor connection)",
  makePair: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const [dialed, accepted] = await Promise.all([
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
      listener.accept(),
    ]);
    listener.close();
    return { a: denoDuplexConn(dialed), b: denoDuplexConn(accepted) };
  },
});

runByteConnCases({
  name: "nodeDuplexConn (tor connection from a source address)",
  makePair: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const socket = createConnection({ host: "127.0.0.1", port: listener.addr.port });
    const [accepted] = await Promise.all([
      listener.accept(),
      new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject)),
    ]);
    listener.close();
    return { a: nodeDuplexConn(socket), b: denoDuplexConn(accepted) };
  },
});
