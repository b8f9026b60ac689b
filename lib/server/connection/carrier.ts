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
 * Every carrier ends with one `carrierclosed` event carrying the reason: no
 * preamble in time, legacy refused, invalid or oversized encapsulation, idle,
 * write stall, protocol error, tor unreachable, closed by the proxy.
 */

import { EncapsulationDecoder } from "../../encapsulation/decoder.ts";
import { EncapsulationError } from "../../encapsulation/error.ts";
import type { DuplexConn } from "../../pt/or_conn.ts";
import { ClientId } from "../../turbotunnel/client_id.ts";
import type { Clock } from "../../util/clock.ts";
import { errorMessage } from "../../util/errors.ts";
import { CLOSE_POLICY_VIOLATION } from "../../websocket/frame.ts";
import type { ServerWebSocket } from "../../websocket/server_conn.ts";
import type { TurbotunnelBackend } from "../backends/backend.ts";
import type { TunnelCounters } from "../operations/counters.ts";
import type { Deadline, DeadlineSweeper } from "../operations/deadline_sweeper.ts";
import type { CarrierCloseReason, CarrierMode, ServerEvents } from "../operations/events.ts";
import { relayToTor } from "../tunnel/tor_relay.ts";
import { takeBatch } from "./downstream_batch.ts";
import { type Preamble, PreambleReader } from "./preamble.ts";

/** Longest encapsulated packet accepted: kcp-go's mtuLimit and Go's read buffer (§3.8); KCP's are ≤ 1400. */
export const CARRIER_MAX_PACKET_SIZE = 1500;
/** Time a new WebSocket has to send its 8- or 16-byte preamble (ours; Go waits forever). Spare proxies idle ≤ 20 s. */
export const PREAMBLE_TIMEOUT_MS = 30_000;
/** Bytes of messages sent to a client in one socket write at most: a whole KCP burst waits in as few writes as it can. */
export const DOWNSTREAM_WRITE_BYTES = 256 * 1024;
/** A Turbo Tunnel WebSocket that brings no bytes for this long is closed (client keepalives come every 10 s). */
export const CARRIER_IDLE_TIMEOUT_MS = 60_000;

export interface CarrierDeps {
  backend: TurbotunnelBackend;
  /** Connects to tor for a legacy client at `userAddr` (DialOr). */
  dialTor: (userAddr: string) => Promise<DuplexConn>;
  /** Serve clients without the token as raw streams (true) or refuse them (false, as Go 2.5.1). */
  legacy: boolean;
  events: ServerEvents;
  /** Where legacy connections count as streams to tor (they have no KCP instance). */
  relayCounters: TunnelCounters;
  sweeper: DeadlineSweeper;
  clock: Clock;
  preambleTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/** How a carrier ended, as the carrier saw it (null: the WebSocket's own end says why). */
interface Outcome {
  mode: CarrierMode;
  reason: CarrierCloseReason | null;
  detail: string;
}

/** The reason for a WebSocket that ended on its own side. */
function connReason(conn: ServerWebSocket): CarrierCloseReason {
  switch (conn.endedBy) {
    case "peer":
      return "peer-closed";
    case "protocol":
      return "protocol-error";
    case "stall":
      return "write-stall";
    case "error":
      return "error";
    default:
      return "server-closed";
  }
}

/** Serves one upgraded WebSocket until it ends. `userAddr` is from `client_ip` ("" if none). Never rejects. */
export async function serveCarrier(
  conn: ServerWebSocket,
  userAddr: string,
  deps: CarrierDeps,
): Promise<void> {
  const { clock, events } = deps;
  events.emit("carrieropened", { withClientIp: userAddr !== "" });
  const outcome: Outcome = { mode: "none", reason: null, detail: "" };
  const preambleMs = deps.preambleTimeoutMs ?? PREAMBLE_TIMEOUT_MS;
  const deadline = deps.sweeper.add({
    at: clock.now() + preambleMs,
    onExpire: () => {
      outcome.reason = "no-preamble";
      outcome.detail = `no preamble in ${preambleMs / 1000} s`;
      conn.closeWithReason(outcome.detail);
    },
  });
  try {
    const preamble = await readPreamble(conn);
    if (!preamble) return;
    if (preamble.kind === "turbotunnel") {
      outcome.mode = "turbotunnel";
      events.emit("carriermode", { mode: "turbotunnel" });
      await turbotunnelMode(conn, userAddr, preamble, deadline, outcome, deps);
    } else if (deps.legacy) {
      deps.sweeper.remove(deadline);
      outcome.mode = "legacy";
      events.emit("carriermode", { mode: "legacy" });
      await legacyMode(conn, userAddr, preamble.bytes, outcome, deps);
    } else {
      outcome.reason = "legacy-refused";
      outcome.detail = "no Turbo Tunnel token";
    }
  } catch (error) {
    outcome.reason ??= "error";
    outcome.detail ||= errorMessage(error);
  } finally {
    deps.sweeper.remove(deadline);
    conn.close();
    const reason = outcome.reason ?? connReason(conn);
    events.emit("carrierclosed", {
      mode: outcome.mode,
      reason,
      detail: outcome.reason ? outcome.detail : conn.closeReason,
      bytesFromClient: conn.bytesRead,
      bytesToClient: conn.bytesWritten,
    });
  }
}

async function readPreamble(conn: ServerWebSocket): Promise<Preamble | null> {
  const reader = new PreambleReader();
  for (;;) {
    const chunk = await conn.read();
    if (chunk === null) return null;
    const preamble = reader.push(chunk);
    if (preamble) return preamble;
  }
}

function turbotunnelMode(
  conn: ServerWebSocket,
  userAddr: string,
  preamble: Extract<Preamble, { kind: "turbotunnel" }>,
  deadline: Deadline,
  outcome: Outcome,
  deps: CarrierDeps,
): Promise<void> {
  const { backend, clock } = deps;
  const clientId = ClientId.fromBytes(preamble.clientId);
  backend.setClientAddr(clientId, userAddr);
  const idleMs = deps.idleTimeoutMs ?? CARRIER_IDLE_TIMEOUT_MS;
  deadline.at = clock.now() + idleMs;
  deadline.onExpire = () => {
    outcome.reason = "idle";
    outcome.detail = `idle for ${idleMs / 1000} s`;
    conn.closeWithReason(outcome.detail);
  };
  const stopWriter = new AbortController();

  // Upstream is pushed: each piece goes to the decoder as it arrives (queueIncoming never blocks; it drops at
  // full queues), so an idle carrier has no pending read of its own.
  const decoder = new EncapsulationDecoder({ maxPacketSize: CARRIER_MAX_PACKET_SIZE });
  const receive = (chunk: Uint8Array) => {
    if (outcome.reason === "encapsulation") return;
    deadline.at = clock.now() + idleMs;
    try {
      decoder.push(chunk);
      for (let packet = decoder.next(); packet; packet = decoder.next()) {
        backend.queueIncoming(packet, clientId);
      }
    } catch (error) {
      if (!(error instanceof EncapsulationError)) throw error;
      outcome.reason = "encapsulation";
      outcome.detail = `invalid encapsulation (${error.code}): ${error.message}`;
      conn.closeWithReason(outcome.detail, CLOSE_POLICY_VIOLATION);
    }
  };
  if (preamble.rest.length) receive(preamble.rest);
  conn.setReceiver(receive);
  const reader = conn.closed.then(() => stopWriter.abort());

  const writer = sendDownstream(conn, backend, clientId, stopWriter.signal).finally(() => conn.close());
  return Promise.all([reader, writer]).then(() => {});
}

/**
 * Sends the client's packets until the client expires, `signal` aborts (this
 * WebSocket's upstream ended) or a write fails: each time, the next packet and
 * those queued behind it as one message of at most CARRIER_MAX_MESSAGE_BYTES
 * (downstream_batch.ts). A chain of promises, not an async loop: an idle
 * carrier then holds one pending `shift` and no suspended frame (which would
 * also keep its last message, up to 16 KiB).
 */
function sendDownstream(
  conn: ServerWebSocket,
  backend: TurbotunnelBackend,
  clientId: ClientId,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((done) => {
    const next = (): void => {
      const queue = backend.outgoingQueue(clientId); // refreshes the client's LastSeen, as Go does per packet
      queue.shift(signal).then((first) => {
        if (first === null) return done();
        // What is queued now goes in one socket write: messages of ≤ 16 KiB, up to DOWNSTREAM_WRITE_BYTES.
        const messages = [takeBatch(first, queue)];
        let bytes = messages[0].length;
        for (let packet = queue.tryShift(); packet !== undefined; packet = queue.tryShift()) {
          messages.push(takeBatch(packet, queue));
          bytes += messages[messages.length - 1].length;
          if (bytes >= DOWNSTREAM_WRITE_BYTES) break;
        }
        conn.writeMessages(messages).then(next, () => done());
      }, () => done());
    };
    next();
  });
}

async function legacyMode(
  conn: ServerWebSocket,
  userAddr: string,
  first: Uint8Array,
  outcome: Outcome,
  deps: CarrierDeps,
): Promise<void> {
  let tor: DuplexConn;
  try {
    tor = await deps.dialTor(userAddr);
  } catch (error) {
    deps.relayCounters.torFailures++;
    outcome.reason = "tor-unreachable";
    outcome.detail = errorMessage(error);
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
