/**
 * The client role as a library: `startClient(config)` opens a SOCKS5 listener
 * (SNOWFLAKE-PROTOCOL.md §9.3) and gives every SOCKS connection its own
 * virtual session across proxies (lib/client/session.ts), as Go's
 * snowflake-client does: the connection's PT arguments (the bridge line, in
 * the SOCKS username/password) override the configured defaults; the request
 * is granted at once, and bytes flow when the first proxy is up. tor sees one
 * long connection however many proxies come and go.
 *
 * ```ts
 * const client = await startClient({
 *   transport: { brokerUrl: "http://127.0.0.1:8080/", fronts: [], iceServers: [], max: 1 },
 * });
 * client.events.addEventListener("proxylost", (e) => console.log(e.detail.reason));
 * // ... tor (or anything) speaks SOCKS5 to client.socksAddr ...
 * await client.stop();
 * ```
 */

import { denoDuplexConn } from "../pt/or_conn.ts";
import { acceptSocks, SocksReply } from "../pt/socks.ts";
import { relayToTor } from "../server/tunnel/tor_relay.ts";
import { errorMessage } from "../util/errors.ts";
import { Logger, nullSink } from "../util/log.ts";
import { BridgeArgsError, type ClientTransportOptions, parseBridgeArgs } from "./bridge_args.ts";
import { ClientEvents } from "./events.ts";
import type { LivenessConfig } from "./liveness.ts";
import { createRendezvous, RendezvousError } from "./rendezvous/rendezvous.ts";
import type { Dial } from "./rendezvous/http1_round_trip.ts";
import { ClientSession, type SessionFigures } from "./session.ts";
import { chooseIceServers } from "./ice_servers.ts";
import { NatTypeCache } from "./nat_type_cache.ts";

/** SOCKS connections served at once; more are refused (ours: each holds a session and up to `max` proxies). */
export const MAX_SOCKS_CONNECTIONS = 256;

/** What {@link startClient} needs; only `transport` is required. */
export interface ClientConfig {
  /** Defaults for every SOCKS connection; its bridge-line arguments override them. */
  transport: ClientTransportOptions;
  /** SOCKS listener address; default 127.0.0.1. */
  socksHost?: string;
  /** SOCKS listener port; default 0 (any free port). */
  socksPort?: number;
  /** Keep private and loopback ICE candidates in offers (`-keep-local-addresses`). Default false. */
  keepLocalAddresses?: boolean;
  /** Gather loopback candidates too: for a proxy on the same host (tests). Default false. */
  includeLoopbackCandidates?: boolean;
  /** Extra CA certificates (PEM) for the rendezvous' TLS, e.g. a test CA. */
  caCerts?: string[];
  /** How the rendezvous opens TCP connections (default Deno.connect); tests point names at loopback. */
  rendezvousDial?: Dial;
  /** Where the client logs; default nowhere (Go's client logs nothing without `-log`). */
  logger?: Logger;
  /** Called once per bridge-line parameter we do not implement (tor gets a LOG line from the CLI). */
  onUnsupported?: (name: string, why: string) => void;
  /** Override of the dead-proxy rule's times (see liveness.ts). */
  liveness?: Partial<LivenessConfig>;
}

/** Counts since the client started (from its events). */
export interface ClientStats {
  /** SOCKS connections accepted. */
  socksAccepted: number;
  /** SOCKS requests refused or malformed. */
  socksRejected: number;
  /** Sessions open now. */
  sessionsOpen: number;
  /** Proxies whose data channel opened (carrying or spare). */
  proxiesConnected: number;
  /** Proxies dropped (see ProxyLostReason). */
  proxiesLost: number;
  /** Failed attempts to get a proxy. */
  rendezvousFailures: number;
  /** Bytes from tor into closed sessions. */
  bytesUp: number;
  /** Bytes from closed sessions to tor. */
  bytesDown: number;
}

/** A running client, from {@link startClient}. */
export interface Client {
  /** Where the SOCKS5 listener is (the CMETHOD line's address). */
  readonly socksAddr: Deno.NetAddr;
  /** Typed outcomes: sessionopened, proxyconnected, proxylost (with reason), … */
  readonly events: ClientEvents;
  /** A copy of the counts so far. */
  stats(): ClientStats;
  /** Stops listening, ends every session and proxy, and resolves when all are gone. */
  stop(): Promise<void>;
}

/** Starts the SOCKS listener; throws if it cannot bind. */
export function startClient(config: ClientConfig): Promise<Client> {
  const logger = config.logger ?? new Logger(nullSink);
  const events = new ClientEvents();
  const listener = Deno.listen({ hostname: config.socksHost ?? "127.0.0.1", port: config.socksPort ?? 0 });
  const counts: ClientStats = {
    socksAccepted: 0,
    socksRejected: 0,
    sessionsOpen: 0,
    proxiesConnected: 0,
    proxiesLost: 0,
    rendezvousFailures: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  events.addEventListener("proxyconnected", () => counts.proxiesConnected++);
  events.addEventListener("proxylost", () => counts.proxiesLost++);
  events.addEventListener("rendezvousfailed", () => counts.rendezvousFailures++);
  events.addEventListener("socksrejected", () => counts.socksRejected++);
  const reported = new Set<string>();
  const natTypes = new NatTypeCache(logger);
  const sessions = new Set<ClientSession>();
  const conns = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  let stopping = false;

  const reject = (why: string) => {
    logger.warn(`SOCKS request refused: ${why}`);
    events.emit("socksrejected", { reason: why });
  };

  const serve = async (conn: Deno.TcpConn) => {
    let request;
    try {
      request = await acceptSocks(conn); // goptlib's 5 s bound
    } catch (error) {
      return reject(`bad SOCKS handshake: ${errorMessage(error)}`);
    }
    let parsed;
    try {
      parsed = parseBridgeArgs(request.args, config.transport);
    } catch (error) {
      if (!(error instanceof BridgeArgsError)) throw error;
      await request.reject(SocksReply.generalFailure).catch(() => {}); // goptlib's Reject, as Go does for a bad max=
      return reject(`bad bridge line: ${error.message}`);
    }
    const { options, unsupported } = parsed;
    for (const { name, why } of unsupported) {
      if (reported.has(name)) continue;
      reported.add(name);
      logger.warn(`bridge line parameter ${name}: ${why}`);
      config.onUnsupported?.(name, why);
    }
    let rendezvous;
    try {
      rendezvous = createRendezvous({
        brokerUrl: options.brokerUrl,
        fronts: options.fronts,
        ampCacheUrl: options.ampCacheUrl,
        fingerprint: options.fingerprint,
        caCerts: config.caCerts,
        dial: config.rendezvousDial,
      }, logger);
    } catch (error) {
      if (!(error instanceof RendezvousError)) throw error;
      await request.reject(SocksReply.generalFailure).catch(() => {});
      return reject(`bad bridge line: ${error.message}`);
    }
    const iceServers = chooseIceServers(options.iceServers);
    const natType = natTypes.lookup(options.iceServers, iceServers);
    try {
      await request.grant();
    } catch (error) {
      return reject(`SOCKS grant failed: ${errorMessage(error)}`);
    }
    if (stopping) return;
    const session = await ClientSession.open({
      max: options.max,
      paddingIdleMs: options.paddingIdleMs,
      exchange: (offer, signal) => rendezvous.exchange(offer, natType.current, signal),
      peer: {
        iceServers,
        keepLocalAddresses: config.keepLocalAddresses,
        includeLoopbackCandidates: config.includeLoopbackCandidates,
        logger,
      },
      events,
      logger,
      liveness: config.liveness,
    });
    sessions.add(session);
    counts.sessionsOpen++;
    logger.info(
      `session ${session.id}: started (${rendezvous.method} rendezvous, max ${options.max}${
        options.paddingIdleMs ? `, padding after ${options.paddingIdleMs} ms idle` : ""
      })`,
    );
    events.emit("sessionopened", { sessionId: session.id });
    const relayed = { bytesToTor: 0, bytesFromTor: 0 };
    await relayToTor(session.stream, denoDuplexConn(conn), relayed);
    session.close();
    sessions.delete(session);
    counts.sessionsOpen--;
    counts.bytesUp += relayed.bytesFromTor;
    counts.bytesDown += relayed.bytesToTor;
    logger.info(
      `session ${session.id}: ended (${relayed.bytesFromTor} bytes up, ${relayed.bytesToTor} down)`,
    );
    logger.debug(`session ${session.id}: ${describeFigures(session.figures())}`);
    events.emit("sessionclosed", {
      sessionId: session.id,
      bytesUp: relayed.bytesFromTor,
      bytesDown: relayed.bytesToTor,
    });
  };

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // the listener was closed
      }
      counts.socksAccepted++;
      if (conns.size >= MAX_SOCKS_CONNECTIONS) {
        conn.close();
        reject(`${MAX_SOCKS_CONNECTIONS} SOCKS connections already open`);
        continue;
      }
      conns.add(conn);
      const handler = serve(conn).catch((error) => {
        logger.error(`SOCKS connection failed: ${errorMessage(error)}`);
      }).finally(() => {
        conns.delete(conn);
        handlers.delete(handler);
        try {
          conn.close();
        } catch { /* closed by the relay */ }
      });
      handlers.add(handler);
    }
  })();

  return Promise.resolve({
    socksAddr: listener.addr as Deno.NetAddr,
    events,
    stats: () => ({ ...counts }),
    async stop() {
      if (stopping) return;
      stopping = true;
      listener.close();
      await acceptLoop;
      for (const session of sessions) session.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await Promise.all([...handlers]);
      natTypes.close();
    },
  });
}

/** A session's figures in a log line: KCP's retransmissions, reinjections, reordering. */
function describeFigures(f: SessionFigures): string {
  const r = f.retransmits;
  const parts = [
    `retransmitted ${r.timeout} on timeout, ${r.early} early, ${r.fast} fast`,
    `reinjected ${f.reinjected}`,
  ];
  if (f.reorder) {
    const o = f.reorder;
    parts.push(
      `reordering: ${o.held} packets waited, ${o.filled} holes filled, ${o.givenUp} given up, ${o.late} late`,
    );
  }
  return parts.join("; ");
}
