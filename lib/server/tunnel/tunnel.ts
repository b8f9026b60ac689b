/**
 * One Turbo Tunnel instance (SNOWFLAKE-PROTOCOL.md §8.5): a KCP listener over a
 * PacketConn fed by the carriers (a QueuePacketConn, or the packet bridge of a
 * Web Worker), an smux server session on each accepted KCP session, and for
 * each stream a connection to tor, credited to the address the ClientID→IP map
 * held when the session started (§8.6).
 *
 * Bounds: at most `maxSessions` KCP sessions (new conversations beyond it are
 * dropped by the listener, counted in `sessionsRefused`); each session is
 * bounded by KCP's and smux's buffers; idle sessions end by smux keepalive
 * timeout (4 min) or KCP's idle expiry.
 */

import { errorMessage } from "../../util/errors.ts";
import { KcpListener } from "../../kcp/listener.ts";
import { addRetransmits, type ArqRetransmits } from "../../kcp/arq.ts";
import type { KcpSession } from "../../kcp/session.ts";
import type { PacketConn } from "../../net/packet_conn.ts";
import type { DuplexConn } from "../../pt/or_conn.ts";
import { SmuxSession } from "../../smux/session.ts";
import type { SmuxStream } from "../../smux/stream.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { countTunnelEvent, type TunnelCounters } from "../operations/counters.ts";
import type { SessionCloseReason, TunnelEvent } from "../operations/events.ts";
import type { SmuxError } from "../../smux/error.ts";
import type { LogLimiter } from "../operations/log_limiter.ts";
import { relayToTor } from "./tor_relay.ts";

export interface TunnelOptions {
  dialTor: (userAddr: string) => Promise<DuplexConn>;
  /** USERADDR for a ClientID string; undefined when the map no longer has it. */
  clientAddr: (clientId: string) => string | undefined;
  /** Capacity of the ClientID→IP map, for the log line when an entry is missing. */
  clientAddrCapacity: number;
  counters: TunnelCounters;
  logger: Logger;
  log: LogLimiter;
  clock: Clock;
  /** Most KCP sessions at once (default: the listener's, 10 000). */
  maxSessions?: number;
  /** Called with each session event, after it is counted. */
  onEvent?: (event: TunnelEvent) => void;
}

/** The reason for a session that ended with smux error `error` (null: closed here). */
function sessionCloseReason(error: SmuxError | null): SessionCloseReason {
  switch (error?.code) {
    case undefined:
      return "server-closed";
    case "keepalive-timeout":
    case "connection-ended":
      return error.code;
    case "invalid-version":
    case "unknown-command":
    case "peer-consumed-more":
      return "protocol-error";
    default:
      return "error";
  }
}

export class TurbotunnelInstance {
  readonly #listener: KcpListener;
  readonly #options: TunnelOptions;
  readonly #smuxSessions = new Set<SmuxSession>();
  readonly #kcpSessions = new Set<KcpSession>();
  /** Retransmissions of the sessions that ended. */
  readonly #endedRetransmits: ArqRetransmits = { timeout: 0, early: 0, fast: 0 };
  readonly #work = new Set<Promise<void>>();
  readonly #acceptLoop: Promise<void>;
  #closing = false; // sessions that end from now on end because the server stops

  constructor(conn: PacketConn, options: TunnelOptions) {
    this.#options = options;
    this.#listener = new KcpListener(conn, {
      maxSessions: options.maxSessions,
      clock: options.clock,
      logger: options.logger,
    });
    this.#acceptLoop = this.#acceptSessions();
  }

  /** Refreshes the counters that the listener keeps itself. */
  updateCounters(): void {
    const { counters } = this.#options;
    const dropped = this.#listener.stats.dropped;
    counters.sessionsRefused = (dropped["too-many-sessions"] ?? 0) + (dropped["backlog-full"] ?? 0);
    const resent = { ...this.#endedRetransmits };
    for (const kcp of this.#kcpSessions) addRetransmits(resent, kcp.arq.retransmits);
    counters.retransmitsTimeout = resent.timeout;
    counters.retransmitsEarly = resent.early;
    counters.retransmitsFast = resent.fast;
  }

  /** Closes the listener, every session and stream; resolves when all handlers have finished. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#listener.close();
    for (const session of this.#smuxSessions) session.close();
    await this.#acceptLoop;
    while (this.#work.size) await Promise.all(this.#work);
  }

  #emit(event: TunnelEvent): void {
    countTunnelEvent(this.#options.counters, event);
    this.#options.onEvent?.(event);
  }

  #spawn(task: Promise<void>): void {
    this.#work.add(task);
    task.finally(() => this.#work.delete(task));
  }

  async #acceptSessions(): Promise<void> {
    for (;;) {
      const session = await this.#listener.accept();
      if (!session) return;
      this.#spawn(this.#serveSession(session));
    }
  }

  async #serveSession(kcp: KcpSession): Promise<void> {
    const { log, clock } = this.#options;
    const started = clock.now();
    let streams = 0;
    let userAddr = this.#options.clientAddr(kcp.remoteAddr);
    if (userAddr === undefined) {
      log.info(
        "addr-map",
        `no address in clientID-to-IP map (capacity ${this.#options.clientAddrCapacity})`,
        clock.now(),
      );
      userAddr = "";
    }
    this.#emit({ type: "sessionopened", detail: { withClientAddr: userAddr !== "" } });
    const smux = SmuxSession.server(kcp, {}, { clock, logger: this.#options.logger });
    this.#smuxSessions.add(smux);
    this.#kcpSessions.add(kcp);
    try {
      for (let stream = await smux.acceptStream(); stream; stream = await smux.acceptStream()) {
        streams++;
        this.#spawn(this.#serveStream(stream, userAddr));
      }
    } finally {
      this.#smuxSessions.delete(smux);
      this.#kcpSessions.delete(kcp);
      const resent = kcp.arq.retransmits;
      addRetransmits(this.#endedRetransmits, resent);
      const error = smux.error;
      smux.close();
      kcp.close();
      this.#emit({
        type: "sessionclosed",
        detail: {
          reason: this.#closing ? "server-closed" : sessionCloseReason(error),
          detail: this.#closing || !error ? "closed by the server" : error.message,
          streams,
          durationMs: clock.now() - started,
          retransmits: resent,
        },
      });
    }
  }

  async #serveStream(stream: SmuxStream, userAddr: string): Promise<void> {
    const { counters, log, clock } = this.#options;
    counters.streamsAccepted++;
    counters.streamsOpen++;
    try {
      let tor: DuplexConn;
      try {
        tor = await this.#options.dialTor(userAddr);
      } catch (error) {
        stream.close();
        const why = errorMessage(error);
        this.#emit({ type: "streamfailed", detail: { detail: why } });
        log.info("tor", `handleConn: failed to connect to ORPort: ${why}`, clock.now());
        return;
      }
      await relayToTor(stream, tor, counters);
    } finally {
      counters.streamsOpen--;
    }
  }
}
