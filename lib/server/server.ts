/**
 * The Snowflake server as one object (SNOWFLAKE-PROTOCOL.md §8): the WebSocket
 * listener we own from accept on (connection/listener.ts), a carrier per
 * WebSocket (connection/carrier.ts), the Turbo Tunnel backend (KCP instances,
 * here or in Web Workers: backends/), and the operations side: one deadline
 * sweep, the typed events that the stats line, the Prometheus endpoint and the
 * log read (operations/). `cli/server.ts` builds the config from flags and
 * tor's environment and calls {@link startServer}.
 *
 * ```ts
 * import { Logger, nullSink } from "../util/log.ts";
 *
 * const server = startServer({
 *   hostname: "127.0.0.1",
 *   port: 0, // a free port: see server.port
 *   tor: { target: { orAddr: { ip: new Uint8Array([127, 0, 0, 1]), port: 9001 } } },
 *   numTurbotunnel: 1,
 *   legacy: true,
 *   logger: new Logger(nullSink),
 *   logSink: nullSink,
 *   unsafeLogging: false,
 *   verbose: false,
 * });
 * server.events.addEventListener("carrierclosed", (e) => console.log(e.detail.reason));
 * await server.stop();
 * ```
 */

import { QUEUE_SIZE } from "../turbotunnel/consts.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger, LogSink } from "../util/log.ts";
import type { ServerWebSocket, ServerWebSocketOptions } from "../websocket/server_conn.ts";
import type { TurbotunnelBackend } from "./backends/backend.ts";
import { LocalBackend } from "./backends/local_backend.ts";
import { WorkerBackend } from "./backends/worker_backend.ts";
import { serveCarrier } from "./connection/carrier.ts";
import { clientAddr } from "./connection/client_addr.ts";
import { CARRIER_MAX_MESSAGE_BYTES } from "./connection/downstream_batch.ts";
import { startWebSocketListener } from "./connection/listener.ts";
import {
  copyCarrierCounters,
  countServerEvents,
  newCarrierCounters,
  newTunnelCounters,
  sumTunnelCounters,
} from "./operations/counters.ts";
import { DeadlineSweeper } from "./operations/deadline_sweeper.ts";
import { ServerEvents, type TunnelEvent } from "./operations/events.ts";
import { LogLimiter } from "./operations/log_limiter.ts";
import { logServerEvents } from "./operations/log_events.ts";
import { serverMetricsHandler } from "./operations/prometheus.ts";
import { formatStatsLine, type StatsSnapshot } from "./operations/stats_line.ts";
import { CLIENT_ID_ADDR_MAP_CAPACITY } from "./tunnel/client_id_addr_map.ts";
import { type TorConfig, torDialer } from "./tunnel/tor_dialer.ts";

/** Default cap on open WebSocket connections (ours; Go has none). */
export const SERVER_MAX_CONNECTIONS = 50_000;
/** Go logs its client_ip statistics once a day (server/stats.go). */
export const SERVER_STATS_INTERVAL_MS = 24 * 3600_000;
/** Bytes queued for all clients together at most (ours): 64 MiB. */
export const SERVER_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** How often every deadline (upgrade, preamble, idle, write stall, close) is checked. */
const SWEEP_INTERVAL_MS = 1_000;

/** What {@link startServer} needs: addresses, tor, limits and timeouts (the CLI fills it from flags). */
export interface ServerConfig {
  /** The address to listen on. */
  hostname: string;
  /** 0 picks a free port (see {@link SnowflakeServer.port}). */
  port: number;
  /** PEM certificate chain and key; omit for plain `ws://` (`-disable-tls`). */
  tls?: { cert: string; key: string };
  /** Where tor is. */
  tor: TorConfig;
  /** KCP instances (`num-turbotunnel`); 1 runs in this thread, more in Web Workers. */
  numTurbotunnel: number;
  /** Serve clients without the Turbo Tunnel token as raw streams (the dual-mode bridge). */
  legacy: boolean;
  /** Where log lines go (scrubbed unless `unsafeLogging`). */
  logger: Logger;
  /** The logger's sink, for the workers' lines. */
  logSink: LogSink;
  /** Log client addresses unscrubbed (`-unsafe-logging`; also for the workers). */
  unsafeLogging: boolean;
  /** Log debug lines (also for the workers). */
  verbose: boolean;
  /** WebSockets open at most; more get 503 (default 50 000). */
  maxConnections?: number;
  /** Connections mid-upgrade at most; more are closed at accept (default 10 000). */
  maxPendingUpgrades?: number;
  /** Time to send the whole upgrade request (default 10 s, Go's). */
  upgradeTimeoutMs?: number;
  /** KCP sessions per instance at most (default 10 000). */
  maxSessions?: number;
  /** How often the stats line is logged, ms (default 24 h); 0 = never. */
  statsIntervalMs?: number;
  /** Serve Prometheus metrics at http://hostname:port/metrics. */
  metrics?: { hostname: string; port: number };
  /** The clock of every deadline (default: the system's). */
  clock?: Clock;
  /** How often deadlines are checked (default 1 s; tests shorten it with the timeouts). */
  sweepIntervalMs?: number;
  /** Time a carrier has for its preamble, ms (default 30 s). */
  preambleTimeoutMs?: number;
  /** A Turbo Tunnel carrier idle this long is closed, ms (default 60 s). */
  idleTimeoutMs?: number;
  /** WebSocket limits and timeouts (frame and message size, read buffer, write stall). */
  websocket?: ServerWebSocketOptions;
}

/** A running server: what {@link startServer} returns. */
export interface SnowflakeServer {
  /** The port the WebSocket listener got. */
  readonly port: number;
  /** The port of the metrics endpoint, if any. */
  readonly metricsPort?: number;
  /** Upgrades and carriers as they end, with their reasons. */
  readonly events: ServerEvents;
  /** The counters now (what the stats line and the metrics show). */
  stats(): Promise<StatsSnapshot>;
  /** Stops listening, closes every WebSocket and KCP session; resolves when all is done. */
  stop(): Promise<void>;
}

function startBackend(config: ServerConfig, clock: Clock, events: ServerEvents): TurbotunnelBackend {
  const onEvent = (event: TunnelEvent) => {
    switch (event.type) {
      case "sessionopened":
        return events.emit(event.type, event.detail);
      case "sessionclosed":
        return events.emit(event.type, event.detail);
      case "streamfailed":
        return events.emit(event.type, event.detail);
    }
  };
  if (config.numTurbotunnel > 1) {
    return new WorkerBackend({
      instances: config.numTurbotunnel,
      config: {
        target: config.tor.target,
        srcAddr: config.tor.srcAddr,
        unsafeLogging: config.unsafeLogging,
        verbose: config.verbose,
        maxSessions: config.maxSessions,
        clientAddrCapacity: Math.ceil(CLIENT_ID_ADDR_MAP_CAPACITY / config.numTurbotunnel),
        queueSize: QUEUE_SIZE,
      },
      logSink: config.logSink,
      clock,
      maxQueuedBytes: SERVER_MAX_QUEUED_BYTES,
      onEvent,
    });
  }
  return new LocalBackend({
    tor: config.tor,
    logger: config.logger,
    clock,
    maxSessions: config.maxSessions,
    maxQueuedBytes: SERVER_MAX_QUEUED_BYTES,
    onEvent,
  });
}

/** Starts the server; throws if a listener cannot be opened (the message says why). */
export function startServer(config: ServerConfig): SnowflakeServer {
  const clock = config.clock ?? systemClock;
  const { logger } = config;
  const events = new ServerEvents();
  const carrierCounters = newCarrierCounters();
  const legacyCounters = newTunnelCounters();
  countServerEvents(events, carrierCounters);
  logServerEvents(events, new LogLimiter(logger), clock);
  const sweeper = new DeadlineSweeper();
  const backend = startBackend(config, clock, events);
  const carriers = new Map<ServerWebSocket, Promise<void>>();
  const carrierDeps = {
    backend,
    dialTor: torDialer(config.tor),
    legacy: config.legacy,
    events,
    relayCounters: legacyCounters,
    sweeper,
    clock,
    preambleTimeoutMs: config.preambleTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
  };

  let listener;
  try {
    listener = startWebSocketListener({
      hostname: config.hostname,
      port: config.port,
      tls: config.tls,
      upgradeTimeoutMs: config.upgradeTimeoutMs,
      maxPendingUpgrades: config.maxPendingUpgrades,
      maxConnections: config.maxConnections ?? SERVER_MAX_CONNECTIONS,
      websocket: { maxSendMessageBytes: CARRIER_MAX_MESSAGE_BYTES, ...config.websocket },
    }, {
      clock,
      sweeper,
      events,
      openConnections: () => carriers.size,
      onWebSocket(conn, head) {
        const userAddr = clientAddr(new URL(head.target, "http://bridge").searchParams.get("client_ip"));
        const carrier = serveCarrier(conn, userAddr, carrierDeps);
        carriers.set(conn, carrier);
        carrier.finally(() => carriers.delete(conn));
      },
    });
  } catch (error) {
    void backend.close();
    throw error;
  }

  // Byte counts of finished carriers are in carrierCounters; open ones are added live.
  const stats = async (): Promise<StatsSnapshot> => {
    const carrier = copyCarrierCounters(carrierCounters);
    for (const conn of carriers.keys()) {
      carrier.bytesFromClients += conn.bytesRead;
      carrier.bytesToClients += conn.bytesWritten;
    }
    return { carrier, tunnel: sumTunnelCounters([await backend.counters(), legacyCounters]) };
  };

  const sweepTimer = setInterval(
    () => sweeper.sweep(clock.now()),
    config.sweepIntervalMs ?? SWEEP_INTERVAL_MS,
  );
  const statsIntervalMs = config.statsIntervalMs ?? SERVER_STATS_INTERVAL_MS;
  let statsTimer: ReturnType<typeof setInterval> | undefined;
  let before: StatsSnapshot = { carrier: newCarrierCounters(), tunnel: newTunnelCounters() };
  let beforeAt = clock.now();
  const logStats = async () => {
    const now = await stats();
    const at = clock.now();
    logger.info(formatStatsLine(before, now, (at - beforeAt) / 1000));
    [before, beforeAt] = [now, at];
  };
  if (statsIntervalMs > 0) statsTimer = setInterval(logStats, statsIntervalMs);
  let metrics: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (config.metrics) {
    try {
      metrics = Deno.serve({ ...config.metrics, onListen() {} }, serverMetricsHandler(stats));
    } catch (error) {
      clearInterval(sweepTimer);
      clearInterval(statsTimer);
      void listener.close();
      void backend.close();
      throw new Error(`metrics listener: ${errorMessage(error)}`);
    }
  }

  return {
    port: listener.port,
    metricsPort: metrics?.addr.port,
    events,
    stats,
    async stop() {
      clearInterval(statsTimer);
      if (statsIntervalMs > 0) await logStats(); // the last interval's figures
      await listener.close();
      for (const conn of carriers.keys()) conn.closeWithReason("server stopping", 1001);
      await Promise.all(carriers.values());
      clearInterval(sweepTimer);
      await metrics?.shutdown();
      await backend.close();
    },
  };
}
