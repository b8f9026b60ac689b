/**
 * The bridge's listener (SNOWFLAKE-PROTOCOL.md §8.3), from accept on: TCP
 * (`Deno.listen`) or TLS (`Deno.listenTls`), the HTTP upgrade request read
 * under a deadline (Go: 10 s), the WebSocket handshake answered as
 * gorilla/websocket answers it (lib/websocket/handshake.ts), and each
 * upgraded connection handed on as a {@link WebSocketConn} over our frame
 * codec. Every path upgrades; no Origin check, subprotocol or compression.
 *
 * Bounds: at most `maxPendingUpgrades` connections mid-upgrade (more are
 * closed at accept); a request head ≤ 16 KiB, complete within
 * `upgradeTimeoutMs` (checked by the server's 1-s sweep); at most
 * `maxConnections` WebSockets open (more get 503). Requests that are not
 * upgrades get Go's answers (400/405), then the connection is closed. Each
 * outcome is an `upgradefailed` or `carrieropened` event.
 */

import { denoDuplexConn, type DuplexConn } from "../../pt/or_conn.ts";
import type { Clock } from "../../util/clock.ts";
import { errorMessage } from "../../util/errors.ts";
import {
  errorResponse,
  HttpRequestError,
  type RequestHead,
  RequestHeadReader,
  switchingProtocolsResponse,
  upgradeProblem,
} from "../../websocket/handshake.ts";
import {
  type ServerWebSocket,
  serverWebSocketConn,
  type ServerWebSocketOptions,
} from "../../websocket/server_conn.ts";
import type { DeadlineSweeper } from "../operations/deadline_sweeper.ts";
import type { ServerEvents, UpgradeFailure } from "../operations/events.ts";

/** Time a connection has to send its whole upgrade request (Go's requestTimeout). */
export const UPGRADE_TIMEOUT_MS = 10_000;
/** Connections mid-upgrade at most (ours; Go has no cap). Above the bench's 3,000 slow requests. */
export const MAX_PENDING_UPGRADES = 10_000;
/** Pause after an accept error such as EMFILE before accepting again (Go's http server backs off too). */
const ACCEPT_ERROR_PAUSE_MS = 100;

export interface ListenerConfig {
  hostname: string;
  port: number;
  tls?: { cert: string; key: string };
  upgradeTimeoutMs?: number;
  maxPendingUpgrades?: number;
  /** Most WebSockets open at once; more get 503. */
  maxConnections: number;
  websocket?: ServerWebSocketOptions;
}

export interface ListenerDeps {
  clock: Clock;
  sweeper: DeadlineSweeper;
  events: ServerEvents;
  /** WebSockets open now. */
  openConnections: () => number;
  /** Called with each upgraded connection and its request. */
  onWebSocket: (conn: ServerWebSocket, head: RequestHead) => void;
}

export interface WebSocketListener {
  readonly port: number;
  /** Connections accepted and not yet upgraded. */
  readonly pending: number;
  /** Stops accepting and closes the connections still mid-upgrade. */
  close(): Promise<void>;
}

class UpgradeFailed extends Error {
  constructor(readonly reason: UpgradeFailure, message: string, readonly status?: number) {
    super(message);
  }
}

/** Opens the listener (throws if it cannot: the message says why) and accepts until closed. */
export function startWebSocketListener(config: ListenerConfig, deps: ListenerDeps): WebSocketListener {
  const listener = config.tls
    ? Deno.listenTls({
      hostname: config.hostname,
      port: config.port,
      cert: config.tls.cert,
      key: config.tls.key,
    })
    : Deno.listen({ hostname: config.hostname, port: config.port });
  const timeoutMs = config.upgradeTimeoutMs ?? UPGRADE_TIMEOUT_MS;
  const maxPending = config.maxPendingUpgrades ?? MAX_PENDING_UPGRADES;
  const pending = new Set<DuplexConn>();
  let closing = false;
  const { events } = deps;

  const fail = (reason: UpgradeFailure, detail: string, status?: number) =>
    events.emit("upgradefailed", { reason, detail, status });

  const upgrade = async (raw: Deno.Conn) => {
    const socket = denoDuplexConn(raw);
    pending.add(socket);
    let timedOut = false;
    const deadline = deps.sweeper.add({
      at: deps.clock.now() + timeoutMs,
      onExpire: () => {
        timedOut = true;
        socket.close();
      },
    });
    try {
      const { head, rest } = await readRequestHead(socket, () => timedOut, timeoutMs);
      const problem = upgradeProblem(head);
      if (problem) {
        await socket.write(errorResponse(problem[0], new Date(), { websocketVersion: true }));
        throw new UpgradeFailed("not-websocket", `${problem[1]} (${head.method} request)`, problem[0]);
      }
      if (deps.openConnections() >= config.maxConnections) {
        await socket.write(errorResponse(503, new Date()));
        throw new UpgradeFailed("connection-limit", `${config.maxConnections} connections open`, 503);
      }
      await socket.write(switchingProtocolsResponse(head.headers.get("sec-websocket-key")!));
      if (timedOut) throw new UpgradeFailed("timeout", `no upgrade within ${timeoutMs / 1000} s`);
      deps.sweeper.remove(deadline);
      pending.delete(socket);
      const conn = serverWebSocketConn(
        raw, // the request is read; from here on the WebSocket reads the socket itself
        rest,
        { clock: deps.clock, deadlines: deps.sweeper },
        config.websocket,
      );
      deps.onWebSocket(conn, head);
    } catch (error) {
      deps.sweeper.remove(deadline);
      pending.delete(socket);
      socket.close();
      if (error instanceof UpgradeFailed) fail(error.reason, error.message, error.status);
      else if (timedOut) fail("timeout", `no complete upgrade request within ${timeoutMs / 1000} s`);
      else if (closing) fail("abandoned", "server stopping");
      else fail("error", errorMessage(error));
    }
  };

  const acceptLoop = (async () => {
    for (;;) {
      let raw: Deno.Conn;
      try {
        raw = await listener.accept();
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return;
        }
        events.emit("connectionaccepted", {});
        fail("error", `accept: ${errorMessage(error)}`);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_ERROR_PAUSE_MS));
        continue;
      }
      events.emit("connectionaccepted", {});
      if (pending.size >= maxPending) {
        try {
          raw.close();
        } catch {
          // already gone
        }
        fail("pending-limit", `${maxPending} connections are mid-upgrade`);
        continue;
      }
      if ("setNoDelay" in raw) (raw as Deno.TcpConn).setNoDelay(true);
      void upgrade(raw);
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get pending() {
      return pending.size;
    },
    async close() {
      closing = true;
      listener.close();
      await acceptLoop;
      for (const socket of pending) socket.close();
    },
  };
}

/** Reads until the request head is complete. Throws UpgradeFailed for what ends it early. */
async function readRequestHead(
  socket: DuplexConn,
  timedOut: () => boolean,
  timeoutMs: number,
): Promise<{ head: RequestHead; rest: Uint8Array }> {
  const reader = new RequestHeadReader();
  for (;;) {
    let chunk: Uint8Array | null;
    try {
      chunk = await socket.read();
    } catch (error) {
      if (timedOut()) {
        throw new UpgradeFailed("timeout", `no complete upgrade request within ${timeoutMs / 1000} s`);
      }
      throw new UpgradeFailed("error", errorMessage(error));
    }
    if (chunk === null) {
      if (timedOut()) {
        throw new UpgradeFailed("timeout", `no complete upgrade request within ${timeoutMs / 1000} s`);
      }
      throw new UpgradeFailed("abandoned", `closed after ${reader.bufferedBytes} bytes of its request`);
    }
    try {
      const result = reader.push(chunk);
      if (result) return result;
    } catch (error) {
      if (!(error instanceof HttpRequestError)) throw error;
      await socket.write(errorResponse(error.status, new Date())).catch(() => {});
      throw new UpgradeFailed("bad-request", error.message, error.status);
    }
  }
}
