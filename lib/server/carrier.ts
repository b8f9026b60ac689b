/**
 * One WebSocket from a proxy (SNOWFLAKE-PROTOCOL.md §8.4): read the preamble
 * (§3.4), then either
 * - Turbo Tunnel: decode encapsulated packets into the backend, and at the
 *   same time send the client's outgoing packets (several per message, each
 *   encapsulated, at most 16 KiB a message: downstream_batch.ts); any of the
 *   client's WebSockets that is free takes the next packets, so several
 *   proxies can serve one client at once; or
 * - legacy (no token; the seed's dual-mode bridge): the WebSocket is tor's
 *   byte stream, relayed to a connection of its own, the 8 bytes read first.
 *
 * Each way a connection can end is logged with its reason (rate-limited per
 * kind): no preamble in time, legacy refused, invalid or oversized
 * encapsulation, idle, tor unreachable.
 */

import { EncapsulationDecoder } from "../encapsulation/decoder.ts";
import { EncapsulationError } from "../encapsulation/error.ts";
import { ClientId } from "../turbotunnel/client_id.ts";
import type { DuplexConn } from "../pt/or_conn.ts";
import type { WebSocketConn } from "../websocket/websocket_conn.ts";
import type { Clock } from "../util/clock.ts";
import type { TurbotunnelBackend } from "./backend.ts";
import type { CarrierCounters, TunnelCounters } from "./counters.ts";
import type { DeadlineSweeper } from "./deadline_sweeper.ts";
import type { LogLimiter } from "./log_limiter.ts";
import { type Preamble, PreambleReader } from "./preamble.ts";
import { relayToTor } from "./tor_relay.ts";
import { takeBatch } from "./downstream_batch.ts";

/** Longest encapsulated packet accepted: kcp-go's mtuLimit and Go's read buffer (§3.8); KCP's are ≤ 1400. */
export const CARRIER_MAX_PACKET_SIZE = 1500;
/** Time a new WebSocket has to send its 8- or 16-byte preamble (ours; Go waits forever). Spare proxies idle ≤ 20 s. */
export const PREAMBLE_TIMEOUT_MS = 30_000;
/** A Turbo Tunnel WebSocket that brings no bytes for this long is closed (client keepalives come every 10 s). */
export const CARRIER_IDLE_TIMEOUT_MS = 60_000;

export interface CarrierDeps {
  backend: TurbotunnelBackend;
  /** Connects to tor for a legacy client at `userAddr` (DialOr). */
  dialTor: (userAddr: string) => Promise<DuplexConn>;
  /** Serve clients without the token as raw streams (true) or refuse them (false, as Go 2.5.1). */
  legacy: boolean;
  log: LogLimiter;
  counters: CarrierCounters;
  /** Where legacy connections count as streams to tor (they have no KCP instance). */
  relayCounters: TunnelCounters;
  sweeper: DeadlineSweeper;
  clock: Clock;
  preambleTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** Serves one upgraded WebSocket until it ends. `userAddr` is from `client_ip` ("" if none). Never rejects. */
export async function serveCarrier(conn: WebSocketConn, userAddr: string, deps: CarrierDeps): Promise<void> {
  const { counters, clock } = deps;
  counters.connections++;
  counters.connectionsOpen++;
  if (userAddr) counters.withClientIp++;
  const deadline = deps.sweeper.add({
    at: clock.now() + (deps.preambleTimeoutMs ?? PREAMBLE_TIMEOUT_MS),
    onExpire: () => conn.closeWithReason("no preamble in time"),
  });
  try {
    const preamble = await readPreamble(conn);
    if (!preamble) {
      counters.refused++;
      // A clean close with no bytes is an unused spare proxy: normal, not logged (as Go).
      if (conn.bytesRead > 0 || conn.closeReason === "no preamble in time") {
        deps.log.info("preamble", `WebSocket ended before its preamble: ${conn.closeReason}`, clock.now());
      }
      return;
    }
    if (preamble.kind === "turbotunnel") {
      counters.turbotunnel++;
      await turbotunnelMode(conn, userAddr, preamble, deadline, deps);
    } else if (deps.legacy) {
      deps.sweeper.remove(deadline);
      counters.legacy++;
      await legacyMode(conn, userAddr, preamble.bytes, deps);
    } else {
      counters.refused++;
      deps.log.info(
        "legacy",
        "received unsupported oneshot connection (legacy mode is disabled)",
        clock.now(),
      );
    }
  } finally {
    deps.sweeper.remove(deadline);
    conn.close();
    counters.connectionsOpen--;
    counters.bytesFromClients += conn.bytesRead;
    counters.bytesToClients += conn.bytesWritten;
  }
}

async function readPreamble(conn: WebSocketConn): Promise<Preamble | null> {
  const reader = new PreambleReader();
  for (;;) {
    const chunk = await conn.read();
    if (chunk === null) return null;
    const preamble = reader.push(chunk);
    if (preamble) return preamble;
  }
}

async function turbotunnelMode(
  conn: WebSocketConn,
  userAddr: string,
  preamble: Extract<Preamble, { kind: "turbotunnel" }>,
  deadline: { at: number; onExpire: () => void },
  deps: CarrierDeps,
): Promise<void> {
  const { backend, clock } = deps;
  const clientId = preamble.clientId;
  const id = ClientId.fromBytes(clientId).toString();
  backend.setClientAddr(clientId, id, userAddr);
  const idleMs = deps.idleTimeoutMs ?? CARRIER_IDLE_TIMEOUT_MS;
  deadline.at = clock.now() + idleMs;
  deadline.onExpire = () => conn.closeWithReason(`idle for ${idleMs / 1000} s`);
  const stopWriter = new AbortController();

  const reader = (async () => {
    const decoder = new EncapsulationDecoder({ maxPacketSize: CARRIER_MAX_PACKET_SIZE });
    try {
      for (let chunk: Uint8Array | null = preamble.rest; chunk; chunk = await conn.read()) {
        deadline.at = clock.now() + idleMs;
        decoder.push(chunk);
        chunk = null; // not kept alive while waiting for the next message
        for (let packet = decoder.next(); packet; packet = decoder.next()) {
          backend.queueIncoming(packet, clientId, id);
        }
      }
    } catch (error) {
      if (!(error instanceof EncapsulationError)) throw error;
      conn.closeWithReason(`invalid encapsulation: ${error.message}`, 1008);
      deps.log.info(
        "encapsulation",
        `closing WebSocket: invalid encapsulation (${error.code}): ${error.message}`,
        clock.now(),
      );
    } finally {
      stopWriter.abort();
    }
  })();

  const writer = (async () => {
    try {
      // Each message in a call of its own, so that no frame that waits on an idle client's queue
      // still holds the last message (up to 16 KiB).
      while (await sendBatch(conn, backend, id, stopWriter.signal));
    } catch {
      // the WebSocket failed or closed: the reader sees the end too
    } finally {
      conn.close();
    }
  })();

  await Promise.all([reader, writer]);
  const reason = conn.closeReason;
  if (reason.startsWith("idle") || reason.startsWith("write stalled") || reason.startsWith("read buffer")) {
    deps.log.info("carrier", `closed Turbo Tunnel WebSocket: ${reason}`, clock.now());
  }
}

/**
 * Waits for the client's next packet and sends it with those queued behind it
 * as one message of at most CARRIER_MAX_MESSAGE_BYTES (downstream_batch.ts).
 * False when the client expired or `signal` aborted (this WebSocket's reader ended).
 */
async function sendBatch(
  conn: WebSocketConn,
  backend: TurbotunnelBackend,
  id: string,
  signal: AbortSignal,
): Promise<boolean> {
  const queue = backend.outgoingQueue(id); // refreshes the client's LastSeen, as Go does per packet
  const first = await queue.shift(signal);
  if (first === null) return false;
  await conn.write(takeBatch(first, queue));
  return true;
}

async function legacyMode(
  conn: WebSocketConn,
  userAddr: string,
  first: Uint8Array,
  deps: CarrierDeps,
): Promise<void> {
  let tor: DuplexConn;
  try {
    tor = await deps.dialTor(userAddr);
  } catch (error) {
    deps.relayCounters.torFailures++;
    deps.log.info(
      "tor",
      `legacy connection: failed to connect to ORPort: ${errorText(error)}`,
      deps.clock.now(),
    );
    return;
  }
  deps.relayCounters.streamsAccepted++;
  deps.relayCounters.streamsOpen++;
  try {
    await tor.write(first);
    deps.relayCounters.bytesToTor += first.length;
    await relayToTor(conn, tor, deps.relayCounters);
  } catch {
    tor.close();
  } finally {
    deps.relayCounters.streamsOpen--;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
