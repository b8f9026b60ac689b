/**
 * The server's HTTP request handler (SNOWFLAKE-PROTOCOL.md §8.3): every path
 * upgrades to a WebSocket (proxies use the path of the bridge's URL, `/` in
 * practice), with no Origin check, subprotocol or compression. Requests that
 * are not WebSocket upgrades get 405 (not GET) or 400, as gorilla/websocket
 * answers them; past the connection limit, 503. The `client_ip` query
 * parameter gives the client's address for tor (§8.6).
 */

import { type WebSocketConn, webSocketConn, type WebSocketConnOptions } from "../websocket/websocket_conn.ts";
import { type CarrierDeps, serveCarrier } from "./carrier.ts";
import { clientAddr } from "./client_addr.ts";
import { CARRIER_MAX_MESSAGE_BYTES } from "./downstream_batch.ts";

export interface HandlerDeps extends CarrierDeps {
  /** Most WebSocket connections open at once; more get 503. */
  maxConnections: number;
  websocket?: WebSocketConnOptions;
  /** Called with each carrier's conn and promise (the server closes and awaits them at shutdown). */
  track?: (conn: WebSocketConn, carrier: Promise<void>) => void;
}

function headerHasToken(request: Request, name: string, token: string): boolean {
  return (request.headers.get(name) ?? "").toLowerCase().split(",").some((part) => part.trim() === token);
}

/** Why `request` is not a WebSocket upgrade, as status and text; null if it is one. */
export function upgradeProblem(request: Request): [number, string] | null {
  if (request.method !== "GET") return [405, "request method is not GET"];
  if (!headerHasToken(request, "connection", "upgrade")) {
    return [400, "'upgrade' token not found in 'Connection' header"];
  }
  if (!headerHasToken(request, "upgrade", "websocket")) {
    return [400, "'websocket' token not found in 'Upgrade' header"];
  }
  if (request.headers.get("sec-websocket-version") !== "13") {
    return [400, "unsupported version: 13 not found in 'Sec-Websocket-Version' header"];
  }
  if (!request.headers.get("sec-websocket-key")) {
    return [400, "'Sec-WebSocket-Key' header is missing or blank"];
  }
  return null;
}

/** A handler for Deno.serve that runs each WebSocket as a Snowflake carrier. */
export function serverHandler(deps: HandlerDeps): (request: Request) => Response {
  return (request) => {
    const problem = upgradeProblem(request);
    if (problem) {
      return new Response(`Bad Request: ${problem[1]}\n`, {
        status: problem[0],
        headers: { "sec-websocket-version": "13" },
      });
    }
    if (deps.counters.connectionsOpen >= deps.maxConnections) {
      deps.counters.refused++;
      deps.log.info("limit", `refusing WebSocket: ${deps.maxConnections} connections open`, deps.clock.now());
      return new Response("Service Unavailable: too many connections\n", { status: 503 });
    }
    const { socket, response } = Deno.upgradeWebSocket(request);
    const userAddr = clientAddr(new URL(request.url).searchParams.get("client_ip"));
    const conn = webSocketConn(socket, { maxMessageBytes: CARRIER_MAX_MESSAGE_BYTES, ...deps.websocket });
    deps.track?.(conn, serveCarrier(conn, userAddr, deps));
    return response;
  };
}
