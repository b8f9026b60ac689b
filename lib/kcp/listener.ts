/**
 * The server side of KCP over one PacketConn: kcp-go's Listener (KCP-SMUX.md
 * §2.2). Packets are demultiplexed by source address (on a Snowflake server,
 * the ClientID); per packet of ≥ 24 bytes, with conv and sn peeked from its
 * first segment:
 *
 * | session for addr? | conv matches? | sn  | action                                  |
 * |-------------------|---------------|-----|-----------------------------------------|
 * | yes               | yes           | any | feed the session                        |
 * | yes               | no            | 0   | close the old session, start a new one  |
 * | yes               | no            | ≠ 0 | drop                                    |
 * | no                | —             | any | new session (any packet, even an ACK)   |
 *
 * A new session is made only while fewer than `backlog` (128) sessions wait for
 * accept(); otherwise the packet is dropped, as in Go. Unlike Go's, accepted
 * sessions get their settings (Snowflake's by default) before the first packet
 * is processed, so the §2.3 race (first packet seen with rcv_wnd 32) cannot
 * happen.
 *
 * Ours, on top of kcp-go: at most `maxSessions` live sessions (new conversations
 * beyond it are dropped); sessions with no input for `idleTimeoutMs` are closed;
 * packets under 24 bytes and packets whose bytes 4–5 read 0x00F1/0x00F2 (which
 * kcp-go would take for FEC, §1.5; we speak no FEC) are dropped. Every drop is
 * counted in `stats` by KcpError code and logged (1st, 10th, 100th… of each kind).
 * Closing the listener closes its sessions.
 */

import { AsyncQueue } from "../net/async_queue.ts";
import type { PacketConn } from "../net/packet_conn.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import type { KcpErrorCode } from "./error.ts";
import type { KcpOptions } from "./options.ts";
import { SEGMENT_HEADER_SIZE, SN_OFFSET } from "./segment.ts";
import { readU32 } from "./u32.ts";
import { isLogWorthy } from "./log_throttle.ts";
import { readPackets } from "./packet_conn_extensions.ts";
import { KcpSession, type KcpSessionOptions } from "./session.ts";

export const ACCEPT_BACKLOG = 128; // kcp-go acceptBacklog
/** Default cap on live sessions (ours); each is bounded by its send and receive byte budgets. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Default idle expiry (ours): smux keepalives arrive every 10 s on a live Snowflake session. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
const FEC_TYPE_DATA = 0xf1; // kcp-go typeData
const FEC_TYPE_PARITY = 0xf2; // kcp-go typeParity

/** Settings of a {@link KcpListener} and of the sessions it accepts. */
export interface KcpListenerOptions extends KcpSessionOptions {
  /** Settings of accepted sessions; default SNOWFLAKE_KCP_OPTIONS. */
  kcp?: Partial<KcpOptions>;
  /** Sessions that may wait for accept(); default 128 (kcp-go). */
  backlog?: number;
  /** Live sessions at most; default 10 000. */
  maxSessions?: number;
  /** Close sessions without input for this long; default 10 min; 0 = never (kcp-go). */
  idleTimeoutMs?: number;
  /** Close `conn` when the listener closes; default false (kcp-go ServeConn). */
  ownConn?: boolean;
}

/** What a listener has counted. */
export interface KcpListenerStats {
  /** Sessions created for new (address, conv) pairs. */
  sessionsCreated: number;
  /** Sessions closed after `idleTimeoutMs` without input. */
  sessionsExpired: number;
  /** Packets dropped, by reason. */
  dropped: Partial<Record<KcpErrorCode, number>>;
}

/**
 * The server side of KCP (kcp-go `ServeConn`): demultiplexes packets of one PacketConn into sessions by (address, conv) and hands new ones to `accept()`.
 */
export class KcpListener {
  /** Counts since the listener started; read at any time. */
  readonly stats: KcpListenerStats = { sessionsCreated: 0, sessionsExpired: 0, dropped: {} };
  readonly #conn: PacketConn;
  readonly #options: KcpListenerOptions;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #backlog: number;
  readonly #maxSessions: number;
  readonly #idleTimeoutMs: number;
  readonly #sessions = new Map<string, KcpSession>();
  readonly #accepts: AsyncQueue<KcpSession>;
  readonly #host = { onClose: (session: KcpSession) => this.#forget(session) };
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** Starts reading `conn` at once; sessions are created for the first packet of each new (address, conv). */
  constructor(conn: PacketConn, options: KcpListenerOptions = {}) {
    this.#conn = conn;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#backlog = options.backlog ?? ACCEPT_BACKLOG;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#accepts = new AsyncQueue(this.#backlog);
    if (this.#idleTimeoutMs > 0) {
      // sessions live between idleTimeoutMs and 1.25 × idleTimeoutMs without input
      const period = Math.max(100, this.#idleTimeoutMs / 4);
      this.#sweeper = setInterval(() => this.expireIdle(this.#clock.now()), period);
    }
    this.#readLoop();
  }

  /** Live sessions (accepted or waiting for accept). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** The next new session; null once the listener is closed. */
  async accept(): Promise<KcpSession | null> {
    for (;;) {
      const session = await this.#accepts.shift();
      if (session === null || !session.isClosed) return session;
    }
  }

  /**
   * Routes one packet from `addr` by the rules in the module doc. The read loop
   * calls this; it is public so a caller with its own receive path can feed it.
   */
  packetInput(packet: Uint8Array, addr: string): void {
    this.#route(packet, addr)?.input(packet);
  }

  /** The session `packet` from `addr` is for (created, and queued for accept, if new); undefined when dropped. */
  #route(packet: Uint8Array, addr: string): KcpSession | undefined {
    if (this.#closed) return;
    if (packet.length < SEGMENT_HEADER_SIZE) {
      return this.#drop("short-packet", addr, `${packet.length}-byte packet`);
    }
    const fecFlag = packet[4] | packet[5] << 8;
    if (fecFlag === FEC_TYPE_DATA || fecFlag === FEC_TYPE_PARITY) {
      return this.#drop("fec-packet", addr, "FEC header (FEC is off)");
    }
    const conv = readU32(packet, 0);
    const existing = this.#sessions.get(addr);
    if (existing !== undefined) {
      if (existing.conv === conv) return existing;
      if (readU32(packet, SN_OFFSET) !== 0) {
        return this.#drop(
          "new-conv-rejected",
          addr,
          `conv ${conv} with sn ≠ 0 while conv ${existing.conv} is live`,
        );
      }
      this.#logger?.debug(`kcp: ${addr} started conv ${conv}; replacing conv ${existing.conv}`);
      existing.close();
    }
    if (this.#accepts.length >= this.#backlog) {
      return this.#drop("backlog-full", addr, `new conv ${conv}: ${this.#backlog} sessions wait for accept`);
    }
    if (this.#sessions.size >= this.#maxSessions) {
      return this.#drop("too-many-sessions", addr, `new conv ${conv}: ${this.#maxSessions} sessions live`);
    }
    const session = new KcpSession(this.#conn, addr, conv, this.#options, { host: this.#host });
    this.stats.sessionsCreated++;
    this.#sessions.set(addr, session);
    this.#accepts.push(session);
    return session;
  }

  /** Closes sessions whose last input is `idleTimeoutMs` or more before `now`; returns how many. */
  expireIdle(now: number): number {
    if (this.#idleTimeoutMs <= 0) return 0;
    let expired = 0;
    for (const session of [...this.#sessions.values()]) {
      if (now - session.lastInputAt >= this.#idleTimeoutMs) {
        this.#logger?.debug(`kcp: conv ${session.conv} from ${session.remoteAddr} idle; closing`);
        session.close();
        expired++;
      }
    }
    this.stats.sessionsExpired += expired;
    return expired;
  }

  /** Closes the listener and every session it made. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    for (const session of [...this.#sessions.values()]) session.close();
    this.#accepts.close();
    if (this.#options.ownConn) this.#conn.close();
  }

  async #readLoop(): Promise<void> {
    const touched = new Set<KcpSession>();
    for (;;) {
      let received;
      try {
        received = await readPackets(this.#conn);
      } catch (error) {
        this.#logger?.warn(`kcp: listener: reading the packet connection failed: ${error}`);
        received = null;
      }
      if (this.#closed) return;
      if (received === null) {
        this.#logger?.debug("kcp: listener: packet connection ended; closing");
        return this.close();
      }
      if (!Array.isArray(received)) {
        this.packetInput(received.packet, received.addr);
        continue;
      }
      // a batch: every packet in first, then one flush and delivery per session (KcpSession.inputOnly)
      const now = this.#clock.now();
      for (const { packet, addr } of received) {
        const session = this.#route(packet, addr);
        if (session === undefined) continue;
        session.inputOnly(packet, now);
        touched.add(session);
      }
      for (const session of touched) session.settleInput(now);
      touched.clear();
    }
  }

  #forget(session: KcpSession): void {
    if (this.#sessions.get(session.remoteAddr) === session) this.#sessions.delete(session.remoteAddr);
  }

  /** Counts and (throttled) logs a dropped packet; returns undefined, for #route. */
  #drop(code: KcpErrorCode, addr: string, detail: string): undefined {
    const count = (this.stats.dropped[code] ?? 0) + 1;
    this.stats.dropped[code] = count;
    if (isLogWorthy(count)) {
      this.#logger?.warn(`kcp: dropped packet from ${addr}: ${code}: ${detail} (${count} so far)`);
    }
    return undefined;
  }
}
