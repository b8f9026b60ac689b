/**
 * The Snowflake server as one object (SNOWFLAKE-PROTOCOL.md §8): an HTTP(S)
 * listener on Deno.serve whose every request upgrades to a carrier, the Turbo
 * Tunnel backend (KCP instances, here or in Web Workers), the deadline sweeper,
 * the periodic stats line and the optional Prometheus endpoint. `cli/server.ts`
 * builds the config from flags and tor's environment and calls
 * {@link startSnowflakeServer}.
 */

import { type Clock, systemClock } from "../util/clock.ts";
import type { Logger, LogSink } from "../util/log.ts";
import type { WebSocketConn, WebSocketConnOptions } from "../websocket/websocket_conn.ts";
import type { TurbotunnelBackend } from "./backend.ts";
import { CLIENT_ID_ADDR_MAP_CAPACITY } from "./client_id_addr_map.ts";
import { newCarrierCounters, newTunnelCounters, sumTunnelCounters } from "./counters.ts";
import { DeadlineSweeper } from "./deadline_sweeper.ts";
import { serverHandler } from "./handler.ts";
import { LocalBackend } from "./local_backend.ts";
import { LogLimiter } from "./log_limiter.ts";
import { serverMetricsHandler } from "./metrics.ts";
import { formatStatsLine, type StatsSnapshot } from "./stats_line.ts";
import { type TorConfig, torDialer } from "./tor_dialer.ts";
import { WorkerBackend } from "./worker_backend.ts";
import { QUEUE_SIZE } from "../turbotunnel/consts.ts";

/** Default cap on open WebSocket connections (ours; Go has none). */
export const SERVER_MAX_CONNECTIONS = 50_000;
/** Go logs its client_ip statistics once a day (server/stats.go). */
export const SERVER_STATS_INTERVAL_MS = 24 * 3600_000;
/** Bytes queued for all clients together at most (ours): 64 MiB. */
export const SERVER_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const SWEEP_INTERVAL_MS = 1_000;

export interface ServerConfig {
  hostname: string;
  /** 0 picks a free port (see {@link SnowflakeServer.port}). */
  port: number;
  /** PEM certificate chain and key; omit for plain `ws://` (`-disable-tls`). */
  tls?: { cert: string; key: string };
  tor: TorConfig;
  /** KCP instances (`num-turbotunnel`); 1 runs in this thread, more in Web Workers. */
  numTurbotunnel: number;
  /** Serve clients without the Turbo Tunnel token as raw streams (the dual-mode bridge). */
  legacy: boolean;
  logger: Logger;
  /** The logger's sink, for the workers' lines. */
  logSink: LogSink;
  unsafeLogging: boolean;
  verbose: boolean;
  maxConnections?: number;
  maxSessions?: number;
  /** 0 = no stats line. */
  statsIntervalMs?: number;
  /** Serve Prometheus metrics at http://hostname:port/metrics. */
  metrics?: { hostname: string; port: number };
  clock?: Clock;
  /** Deadlines and timeouts of carriers (tests shorten them). */
  preambleTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** WebSocket buffer bounds and write-stall timeout. */
  websocket?: WebSocketConnOptions;
}

export interface SnowflakeServer {
  /** The port the WebSocket listener got. */
  readonly port: number;
  /** The port of the metrics endpoint, if any. */
  readonly metricsPort?: number;
  snapshot(): Promise<StatsSnapshot>;
  /** Stops listening, closes every WebSocket and KCP session; resolves when all is done. */
  close(): Promise<void>;
}

/** Starts the server; throws if the listener cannot be opened (the message says why). */
export function startSnowflakeServer(config: ServerConfig): SnowflakeServer {
  const clock = config.clock ?? systemClock;
  const logger = config.logger;
  const backend: TurbotunnelBackend = config.numTurbotunnel > 1
    ? new WorkerBackend({
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
    })
    : new LocalBackend({
      tor: config.tor,
      logger,
      clock,
      maxSessions: config.maxSessions,
      maxQueuedBytes: SERVER_MAX_QUEUED_BYTES,
    });
  const carrierCounters = newCarrierCounters();
  const legacyCounters = newTunnelCounters();
  const sweeper = new DeadlineSweeper();
  const carriers = new Map<WebSocketConn, Promise<void>>();
  const handler = serverHandler({
    backend,
    dialTor: torDialer(config.tor),
    legacy: config.legacy,
    log: new LogLimiter(logger),
    counters: carrierCounters,
    relayCounters: legacyCounters,
    sweeper,
    clock,
    preambleTimeoutMs: config.preambleTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxConnections: config.maxConnections ?? SERVER_MAX_CONNECTIONS,
    websocket: config.websocket,
    track(conn, carrier) {
      carriers.set(conn, carrier);
      carrier.finally(() => carriers.delete(conn));
    },
  });

  let http: Deno.HttpServer<Deno.NetAddr>;
  try {
    http = Deno.serve({
      hostname: config.hostname,
      port: config.port,
      ...(config.tls ?? {}),
      onListen() {},
      onError(error) {
        logger.debug(`HTTP error: ${error}`);
        return new Response("Internal Server Error\n", { status: 500 });
      },
    }, handler);
  } catch (error) {
    void backend.close();
    throw error;
  }

  // Byte counts of finished carriers are in carrierCounters; open ones are added live.
  const snapshot = async (): Promise<StatsSnapshot> => {
    const carrier = { ...carrierCounters };
    for (const conn of carriers.keys()) {
      carrier.bytesFromClients += conn.bytesRead;
      carrier.bytesToClients += conn.bytesWritten;
    }
    return { carrier, tunnel: sumTunnelCounters([await backend.counters(), legacyCounters]) };
  };

  const sweepTimer = setInterval(() => sweeper.sweep(clock.now()), SWEEP_INTERVAL_MS);
  const statsIntervalMs = config.statsIntervalMs ?? SERVER_STATS_INTERVAL_MS;
  let statsTimer: ReturnType<typeof setInterval> | undefined;
  let before: StatsSnapshot = { carrier: newCarrierCounters(), tunnel: newTunnelCounters() };
  let beforeAt = clock.now();
  const logStats = async () => {
    const now = await snapshot();
    const at = clock.now();
    logger.info(formatStatsLine(before, now, (at - beforeAt) / 1000));
    [before, beforeAt] = [now, at];
  };
  if (statsIntervalMs > 0) statsTimer = setInterval(logStats, statsIntervalMs);
  let metrics: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (config.metrics) {
    try {
      metrics = Deno.serve({ ...config.metrics, onListen() {} }, serverMetricsHandler(snapshot));
    } catch (error) {
      clearInterval(sweepTimer);
      clearInterval(statsTimer);
      void http.shutdown();
      void backend.close();
      throw new Error(`metrics listener: ${error instanceof Error ? error.message : error}`);
    }
  }

  return {
    port: http.addr.port,
    metricsPort: metrics?.addr.port,
    snapshot,
    async close() {
      clearInterval(sweepTimer);
      clearInterval(statsTimer);
      if (statsIntervalMs > 0) await logStats(); // the last interval's figures
      const stopping = http.shutdown();
      for (const conn of carriers.keys()) conn.close();
      await Promise.all(carriers.values());
      await stopping;
      await metrics?.shutdown();
      await backend.close();
    },
  };
}
