/**
 * A Turbo Tunnel client assembled from lib/, for tests and benches: a
 * RedialPacketConn whose carriers are WebSockets straight to the server (each
 * starting with Token ‖ ClientID, SNOWFLAKE-PROTOCOL.md §3.3), KCP and smux with
 * Snowflake's client settings, and one stream, as snowflake-client makes per
 * SOCKS connection. `killCarrier()` closes the current WebSocket, as a proxy
 * that goes away; the RedialPacketConn then dials a new one with the same ClientID.
 */

import { encapsulationPacketConn } from "../../lib/encapsulation/packet_conn.ts";
import { KcpSession } from "../../lib/kcp/session.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import type { SmuxStream } from "../../lib/smux/stream.ts";
import { ClientId } from "../../lib/turbotunnel/client_id.ts";
import { TOKEN } from "../../lib/turbotunnel/consts.ts";
import { RedialPacketConn } from "../../lib/turbotunnel/redial_packet_conn.ts";
import { dialWebSocket, type WebSocketConn, webSocketConn } from "../../lib/websocket/websocket_conn.ts";

const CARRIER_SEND_QUEUE = 2048;

export interface TurbotunnelClient {
  clientId: ClientId;
  stream: SmuxStream;
  /** Every WebSocket dialed so far, the current one last. */
  carriers: WebSocketConn[];
  redial: RedialPacketConn;
  /** Closes the current WebSocket (the client redials with the same ClientID). */
  killCarrier(): void;
  close(): Promise<void>;
}

/** Opens a session to the server at `url` (e.g. `ws://127.0.0.1:port/?client_ip=1.2.3.4`). */
export async function openTurbotunnelClient(
  url: string,
  options: { clientId?: ClientId; onMessage?: (size: number) => void } = {},
): Promise<TurbotunnelClient> {
  const clientId = options.clientId ?? ClientId.random();
  const carriers: WebSocketConn[] = [];
  const redial = new RedialPacketConn(async () => {
    const ws = options.onMessage
      ? await dialObserved(url, options.onMessage)
      : await dialWebSocket(url, { timeoutMs: 10_000 });
    carriers.push(ws);
    await ws.write(TOKEN.slice());
    await ws.write(clientId.bytes.slice());
    // A deep send queue: RedialPacketConn hands over KCP's bursts without waiting, and the default (64) drops most.
    return encapsulationPacketConn(ws, "server", { maxPacketSize: 1500, sendQueueSize: CARRIER_SEND_QUEUE });
  }, { minRedialIntervalMs: 100 });
  const kcp = KcpSession.dial(redial, "server");
  const smux = SmuxSession.client(kcp);
  const stream = await smux.openStream();
  return {
    clientId,
    stream,
    carriers,
    redial,
    killCarrier() {
      carriers[carriers.length - 1]?.close();
    },
    async close() {
      stream.close();
      smux.close();
      kcp.close();
      redial.close();
      await redial.closed;
      for (const carrier of carriers) carrier.close();
      await Promise.all(carriers.map((carrier) => carrier.closed));
    },
  };
}

/** Dials like dialWebSocket, and reports the size of every message received. */
async function dialObserved(url: string, onMessage: (size: number) => void): Promise<WebSocketConn> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.addEventListener("message", (event) => onMessage((event.data as ArrayBuffer).byteLength));
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error(`WebSocket dial ${url} failed`)), { once: true });
  });
  return webSocketConn(socket);
}
