/**
 * The broker as a library: `startBroker(config)` reads what the config names
 * (TLS files, bridge list, geoip databases, metrics log), serves
 * {@link brokerHandler} with `Deno.serve` and returns a handle to stop it, read
 * its counts and reload geoip. `cli/broker.ts` only turns flags into a
 * {@link BrokerConfig}; tests and embedders call this directly.
 *
 * What cannot be set up is a {@link BrokerStartError} whose `source` says
 * which part of the config failed, so a caller can name its own flag.
 */

import { errorMessage } from "../util/errors.ts";
import { Logger, nullSink } from "../util/log.ts";
import { BridgeList } from "./bridge_list.ts";
import { BrokerEvents } from "./events.ts";
import { GeoipTable } from "./geoip.ts";
import { brokerHandler } from "./handler.ts";
import type { ListenAddress } from "./listen_address.ts";
import type { MatcherOptions } from "./matcher.ts";
import { BrokerMetrics, type PeriodCounts } from "./metrics.ts";
import { MetricsLog } from "./metrics_log.ts";
import { Rendezvous } from "./rendezvous.ts";

const encoder = new TextEncoder();

/** What {@link startBroker} needs; every field but `listen` has the reference's default. */
export interface BrokerConfig {
  /** Where to listen; an empty hostname means every interface. */
  listen: ListenAddress;
  /** PEM certificate chain and key files; without them, plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** A bridge list file (one JSON object a line); without it, the Tor Project's default bridge only. */
  bridgeListPath?: string;
  /** Relays proxies must accept (Go installs it together with a bridge list). */
  allowedRelayPattern?: string;
  /** Presumed for proxies that send no `AcceptedRelayPattern`. */
  defaultRelayPattern?: string;
  /** IPv4 and IPv6 geoip databases for country counts; `required` makes a failed load fatal. */
  geoip?: { ipv4Path: string; ipv6Path: string; required: boolean };
  /** The file the metrics block is appended to (and `/metrics` serves); default stdout. */
  metricsLogPath?: string;
  /** Timeouts, waiting bounds and the NAT policy of the matcher. */
  matching?: MatcherOptions;
  /** Most distinct proxy addresses remembered per metrics period. */
  maxTrackedAddresses?: number;
  /** Default: discard. */
  logger?: Logger;
}

/** Which part of a {@link BrokerConfig} could not be set up. */
export type BrokerStartSource = "tls" | "bridge-list" | "geoip" | "metrics-log" | "listen";

/** The broker could not start; `source` names the part of the config at fault. */
export class BrokerStartError extends Error {
  /** Always "BrokerStartError". */
  override name = "BrokerStartError";
  /** `source`: the part of the config at fault; `message`: what went wrong, with the OS error. */
  constructor(readonly source: BrokerStartSource, message: string) {
    super(message);
  }
}

/** A point-in-time view of a running broker. */
export interface BrokerStats {
  /** Proxy polls held, waiting for a client. */
  waitingProxies: number;
  /** Clients waiting for a proxy's answer. */
  waitingClients: number;
  /** This metrics period's counts (a copy). */
  period: PeriodCounts;
}

/** A running broker. */
export interface Broker {
  /** The address actually listened on (the port is chosen when `listen.port` is 0). */
  readonly addr: { hostname: string; port: number };
  /** Whether it serves HTTPS. */
  readonly tls: boolean;
  /** Counts now; cheap enough to call per request. */
  stats(): BrokerStats;
  /** Loads the geoip databases again (on SIGHUP); a failure keeps the old table and is logged. */
  reloadGeoip(): Promise<void>;
  /** Ends held polls, stops listening and the metrics log; resolves when the server has finished. */
  stop(): Promise<void>;
  /** Resolves when the server has finished, by {@link stop} or otherwise. */
  readonly finished: Promise<void>;
  /** Each poll's outcome, typed (see {@link BrokerEventMap}). */
  readonly events: BrokerEvents;
}

/** Starts a broker; throws {@link BrokerStartError} when part of `config` cannot be set up. */
export async function startBroker(config: BrokerConfig): Promise<Broker> {
  const logger = config.logger ?? new Logger(nullSink);
  const tls = config.tls && await readTls(config.tls);
  const bridges = config.bridgeListPath ? await readBridgeList(config.bridgeListPath) : new BridgeList();
  const metrics = new BrokerMetrics({ maxTrackedAddresses: config.maxTrackedAddresses });
  const loadGeoip = async (fatal: boolean): Promise<void> => {
    if (!config.geoip) return;
    try {
      logger.info("Loading geoip databases");
      metrics.geoip = await GeoipTable.load(config.geoip.ipv4Path, config.geoip.ipv6Path);
    } catch (error) {
      if (fatal) throw new BrokerStartError("geoip", errorMessage(error));
      logger.warn(`${errorMessage(error)}: country statistics are off`);
    }
  };
  await loadGeoip(config.geoip?.required ?? false);
  const metricsFile = config.metricsLogPath ? await openAppend(config.metricsLogPath) : undefined;

  const rendezvous = new Rendezvous(config.matching);
  const events = new BrokerEvents();
  const handler = brokerHandler({
    events,
    rendezvous,
    bridges,
    metrics,
    logger,
    allowedRelayPattern: config.allowedRelayPattern,
    defaultRelayPattern: config.defaultRelayPattern,
    metricsLogPath: config.metricsLogPath,
  });
  const metricsLog = new MetricsLog(
    metrics,
    (text) => (metricsFile ?? Deno.stdout).writeSync(encoder.encode(text)),
  );
  const shutdown = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.listen.hostname || "[::]",
      port: config.listen.port,
      ...(tls ?? {}),
      signal: shutdown.signal,
      onListen: ({ port }) => {
        // The port on its own line survives IP scrubbing (tests read it when the port asked for is 0).
        logger.info(`broker serving ${tls ? "https" : "http"} on port ${port}`);
      },
    }, handler);
  } catch (error) {
    rendezvous.close();
    metricsFile?.close();
    throw new BrokerStartError("listen", errorMessage(error));
  }
  metricsLog.start();
  shutdown.signal.addEventListener("abort", () => rendezvous.close());
  const finished = server.finished.then(() => {
    metricsLog.stop();
    metricsFile?.close();
  });

  return {
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    tls: tls !== undefined,
    stats: () => ({
      waitingProxies: rendezvous.matcher.waitingProxies,
      waitingClients: rendezvous.matcher.waitingClients,
      period: { ...metrics.counts },
    }),
    reloadGeoip: () => loadGeoip(false),
    stop: () => {
      shutdown.abort();
      return finished;
    },
    finished,
    events,
  };
}

async function readTls(files: { certFile: string; keyFile: string }): Promise<{ cert: string; key: string }> {
  try {
    return { cert: await Deno.readTextFile(files.certFile), key: await Deno.readTextFile(files.keyFile) };
  } catch (error) {
    throw new BrokerStartError("tls", `cannot read TLS certificate or key: ${errorMessage(error)}`);
  }
}

async function readBridgeList(path: string): Promise<BridgeList> {
  try {
    return BridgeList.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new BrokerStartError("bridge-list", errorMessage(error));
  }
}

async function openAppend(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { append: true, create: true, write: true });
  } catch (error) {
    throw new BrokerStartError("metrics-log", errorMessage(error));
  }
}
