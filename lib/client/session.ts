/**
 * One virtual session (SNOWFLAKE-PROTOCOL.md §3; the Go client's `Dial`): a
 * fresh ClientID, a {@link ProxyPool} of up to `max` proxies, a carrier set
 * (carrier_set.ts) that carries over up to `max` of them at once, whose
 * carriers are those proxies' data channels (token and ClientID first), a KCP
 * conversation over it and an smux session with one stream, all with the Go
 * client's settings (SNOWFLAKE_KCP_OPTIONS, SNOWFLAKE_SMUX_CLIENT). The stream
 * outlives every proxy: when one is lost the others carry on while the pool
 * collects its replacement.
 */

import type { ArqRetransmits } from "../kcp/arq.ts";
import { KcpSession } from "../kcp/session.ts";
import { SmuxSession } from "../smux/session.ts";
import type { SmuxStream } from "../smux/stream.ts";
import { ClientId } from "../turbotunnel/client_id.ts";
import type { ReorderStats } from "../turbotunnel/reorder_buffer.ts";
import type { Logger } from "../util/log.ts";
import { ProxyCarrier } from "./carrier.ts";
import { type CarrierSet, createCarrierSet, paddingSize } from "./carrier_set.ts";
import type { ClientEvents } from "./events.ts";
import type { LivenessConfig } from "./liveness.ts";
import { connectProxyPeer, type ExchangeOffer, type ProxyPeerOptions } from "./proxy_peer.ts";
import { ProxyPool } from "./proxy_pool.ts";

/** How a session's carriers and KCP fared. */
export interface SessionFigures {
  /** Segments resent at once on other proxies after one was dropped. */
  reinjected: number;
  /** The bridge's packets put back in order across proxies (null with max 1). */
  reorder: ReorderStats | null;
  /** The client KCP's retransmissions, by cause. */
  retransmits: ArqRetransmits;
}

export interface ClientSessionOptions {
  /** Proxies carrying at once; Go's `max`. */
  max: number;
  /** Padding on a proxy idle this long, ms, and after the ClientID; 0 or absent: none (see carrier_set.ts). */
  paddingIdleMs?: number;
  /** Offer → answer through the rendezvous (broker, front or AMP cache). */
  exchange: ExchangeOffer;
  peer: ProxyPeerOptions;
  events: ClientEvents;
  logger: Logger;
  liveness?: Partial<LivenessConfig>;
}

export class ClientSession {
  readonly clientId: ClientId;
  readonly stream: SmuxStream;
  readonly #pool: ProxyPool;
  readonly #carriers: CarrierSet;
  readonly #kcp: KcpSession;
  readonly #smux: SmuxSession;

  private constructor(
    clientId: ClientId,
    pool: ProxyPool,
    carriers: CarrierSet,
    kcp: KcpSession,
    smux: SmuxSession,
    stream: SmuxStream,
  ) {
    this.clientId = clientId;
    this.#pool = pool;
    this.#carriers = carriers;
    this.#kcp = kcp;
    this.#smux = smux;
    this.stream = stream;
  }

  /** The ClientID in hex: the session's name in events and logs. */
  get id(): string {
    return this.clientId.toString();
  }

  /** How the session's carriers and KCP fared: for the log line at its end. */
  figures(): SessionFigures {
    return {
      reinjected: this.#carriers.reinjected,
      reorder: this.#carriers.reorderStats(),
      retransmits: this.#kcp.arq.retransmits,
    };
  }

  /** Resolves when the smux session has ended (closed, failed or timed out). */
  get closed(): Promise<void> {
    return this.#smux.closed;
  }

  /** Starts collecting proxies and opens the stream (which waits for nothing: smux's SYN goes out with the first carrier). */
  static async open(options: ClientSessionOptions): Promise<ClientSession> {
    const clientId = ClientId.random();
    const id = clientId.toString();
    const { events, logger } = options;
    const pool = new ProxyPool((signal) => connectProxyPeer(options.exchange, options.peer, signal), {
      max: options.max,
      onConnected: (peer, ms) => {
        logger.info(`session ${id}: proxy ${peer.id} connected after ${Math.round(ms)} ms`);
        events.emit("proxyconnected", { sessionId: id, proxyId: peer.id, rendezvousMs: ms });
      },
      onCollectFailed: (error, retryInMs) => {
        logger.warn(`session ${id}: no proxy: ${error.message}; retrying in ${retryInMs} ms`);
        events.emit("rendezvousfailed", { sessionId: id, error, retryInMs });
      },
      onLost: (peer, reason, carrying) => {
        logger.info(
          `session ${id}: proxy ${peer.id} lost (${reason})${carrying ? "; switching proxies" : ""}`,
        );
        events.emit("proxylost", { sessionId: id, proxyId: peer.id, reason, carrying });
      },
    });
    const paddingIdleMs = options.paddingIdleMs ?? 0;
    // Carrying now: a packet on any of them is an answer for all (the bridge answers on whichever is free).
    const live = new Set<ProxyCarrier>();
    const carriers = createCarrierSet(async (signal) => {
      for (;;) {
        const peer = await pool.pop(signal);
        try {
          const carrier: ProxyCarrier = await ProxyCarrier.open(peer, clientId, {
            liveness: options.liveness,
            preamblePadding: paddingIdleMs > 0 ? paddingSize() : 0,
            onReceive: () => {
              if (live.size > 1) { for (const other of live) if (other !== carrier) other.siblingReceived(); }
            },
          });
          live.add(carrier);
          carrier.down.then(() => live.delete(carrier));
          events.emit("carrierup", { sessionId: id, proxyId: peer.id });
          return carrier;
        } catch {
          peer.close("send-failed"); // the channel ended before the preamble went out: take the next proxy
        }
      }
    }, { max: pool.max, paddingIdleMs });
    const kcp = KcpSession.dial(carriers, "snowflake", { logger });
    const smux = SmuxSession.client(kcp, {}, { logger });
    try {
      const stream = await smux.openStream();
      return new ClientSession(clientId, pool, carriers, kcp, smux, stream);
    } catch (error) {
      smux.close();
      kcp.close();
      carriers.close();
      pool.close();
      throw error;
    }
  }

  /** Ends the stream, the session and every proxy. Idempotent. */
  close(): void {
    this.stream.close();
    this.#smux.close();
    this.#kcp.close();
    this.#carriers.close();
    this.#pool.close();
  }
}
