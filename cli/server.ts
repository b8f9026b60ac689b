/**
 * `snowflake server`: the bridge side, a Tor pluggable-transport server with
 * Turbo Tunnel over WebSocket. Accepts Go snowflake-server 2.5.1's flags; run
 * by tor (managed mode, TOR_PT_* environment) or, with -listen, on its own
 * (standalone mode, tor's ports given by flags). Only flag parsing and wiring
 * here; see lib/server/.
 */

import denoJson from "../deno.json" with { type: "json" };
import { resolveAddr, tcpAddrHost } from "../lib/net/addr.ts";
import type { OrTarget } from "../lib/pt/dial_or.ts";
import { PtEnvError } from "../lib/pt/env.ts";
import { PtMessages, stdoutPtSink } from "../lib/pt/messages.ts";
import { serverSetup } from "../lib/pt/server_env.ts";
import { untilStopped } from "../lib/pt/stdin_close.ts";
import { type CommonServerConfig, launchManagedServers } from "../lib/server/managed.ts";
import { type SnowflakeServer, startServer } from "../lib/server/server.ts";
import { resolveTls, TlsConfigError } from "../lib/server/tls_config.ts";
import { parseNumTurbotunnel, parseTransportOptions } from "../lib/server/transport_options.ts";
import { PtArgs } from "../lib/pt/args.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { flag, type FlagValues, parseCommandLine } from "../lib/util/flags.ts";
import { fileSink, Logger, type LogLevel, type LogSink, stderrSink } from "../lib/util/log.ts";

const SUMMARY =
  "WebSocket server pluggable transport for Snowflake, with Turbo Tunnel. Run by tor as a managed " +
  "proxy (ServerTransportPlugin), or on its own with -listen. TLS from -cert/-key, or -disable-tls.";

const FLAGS = {
  // Go snowflake-server 2.5.1
  "acme-email": flag.string("", "ACME contact email (ACME is not supported: use -cert/-key)"),
  "acme-hostnames": flag.string(
    "",
    "comma-separated hostnames, reported to tor as hostname= (ACME is not supported: use -cert/-key)",
  ),
  "acme-cert-cache": flag.string("", "ACME certificate cache (ACME is not supported)"),
  "disable-tls": flag.bool(false, "don't use HTTPS (plain ws://)"),
  log: flag.string("", "log file to write to (default stderr)"),
  "unsafe-logging": flag.bool(false, "prevent logs from being scrubbed"),
  version: flag.bool(false, "display version info to stderr and quit"),
  // ours
  cert: flag.string("", "TLS certificate chain file (PEM)"),
  key: flag.string("", "TLS private key file (PEM)"),
  listen: flag.string("", "standalone mode: listen on this IP:port instead of taking tor's environment"),
  orport: flag.string("", "standalone mode: tor's ORPort, IP:port"),
  extorport: flag.string("", "standalone mode: tor's Extended ORPort, IP:port (with -auth-cookie)"),
  "auth-cookie": flag.string("", "standalone mode: tor's Extended ORPort auth cookie file"),
  "num-turbotunnel": flag.int(1, "standalone mode: number of KCP instances (Web Workers if > 1)"),
  "orport-srcaddr": flag.string("", "standalone mode: source IP or CIDR for connections to tor"),
  "disable-legacy": flag.bool(
    false,
    "refuse clients without the Turbo Tunnel token, as Go 2.5.1 does (default: carry them as raw streams)",
  ),
  "metrics-address": flag.string("", "serve Prometheus metrics at http://IP:port/metrics"),
  "stats-interval": flag.duration(24 * 3600_000, "how often to log the stats line (0 = never)"),
  "max-connections": flag.int(50_000, "most WebSocket connections at once (more get 503)"),
  "max-sessions": flag.int(10_000, "most KCP sessions at once per KCP instance"),
  "upgrade-timeout": flag.duration(
    10_000,
    "time a connection has to send its whole WebSocket upgrade request (Go's server: 10s)",
  ),
  "max-pending-upgrades": flag.int(
    10_000,
    "most connections mid-upgrade at once (more are closed at accept)",
  ),
  verbose: flag.bool(false, "log debug lines"),
};

const LEVELS: Record<LogLevel, "debug" | "info" | "warning" | "error"> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

type ServerFlags = FlagValues<typeof FLAGS>;

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake server", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  if (v.version) {
    console.error(`snowflake-server ${denoJson.version} (Deno ${Deno.version.deno})`);
    return 0;
  }
  const pt = new PtMessages(stdoutPtSink);
  const sink = logSink(v, pt);
  if (typeof sink === "string") {
    console.error(sink);
    return 1;
  }
  const logger = new Logger(sink, { unsafeLogging: v["unsafe-logging"], verbose: v.verbose });
  logger.info(`snowflake-server ${denoJson.version}`);
  const started = startServers(v, logger, sink, pt);
  if (typeof started === "string") {
    logger.error(started);
    return 1;
  }
  const { servers, exitOnStdinClose } = started;
  const reason = await untilStopped(logger, exitOnStdinClose);
  logger.info(`caught signal "${reason}", exiting`);
  await Promise.all(servers.map((server) => server.stop()));
  return 0;
}

/**
 * Where log lines go: `-log` or stderr; in managed mode warnings and errors
 * also go to tor as LOG lines (without our timestamp). A string: why not.
 */
function logSink(v: ServerFlags, pt: PtMessages): LogSink | string {
  let fileOrStderr: LogSink = stderrSink;
  if (v.log) {
    try {
      Deno.openSync(v.log, { append: true, create: true, mode: 0o600 }).close();
      fileOrStderr = fileSink(v.log);
    } catch (error) {
      return `can't open log file: ${errorMessage(error)}`;
    }
  }
  if (v.listen !== "") return fileOrStderr;
  return (line, level) => {
    fileOrStderr(line, level);
    if (level === "warn" || level === "error") pt.log(LEVELS[level], line.replace(/^\S+ \S+ /, ""));
  };
}

/** The flags shared by every listener, as the servers' common config; a string: why not. */
function commonConfig(v: ServerFlags, logger: Logger, sink: LogSink): CommonServerConfig | string {
  const common: CommonServerConfig = {
    legacy: !v["disable-legacy"],
    logger,
    logSink: sink,
    unsafeLogging: v["unsafe-logging"],
    verbose: v.verbose,
    maxConnections: v["max-connections"],
    maxSessions: v["max-sessions"],
    upgradeTimeoutMs: v["upgrade-timeout"],
    maxPendingUpgrades: v["max-pending-upgrades"],
    statsIntervalMs: v["stats-interval"],
  };
  try {
    if (v["metrics-address"]) {
      const addr = resolveAddr(v["metrics-address"]);
      common.metrics = { hostname: tcpAddrHost(addr), port: addr.port };
    }
  } catch (error) {
    return `-metrics-address: ${errorMessage(error)}`;
  }
  return common;
}

/** Standalone (-listen) or managed by tor: starts the servers, or says why it cannot. */
function startServers(
  v: ServerFlags,
  logger: Logger,
  sink: LogSink,
  pt: PtMessages,
): { servers: SnowflakeServer[]; exitOnStdinClose: boolean } | string {
  let tls;
  try {
    tls = resolveTls({
      disableTls: v["disable-tls"],
      certFile: v.cert,
      keyFile: v.key,
      acmeHostnames: v["acme-hostnames"],
      acmeEmail: v["acme-email"],
      acmeCertCache: v["acme-cert-cache"],
    });
  } catch (error) {
    if (!(error instanceof TlsConfigError)) throw error;
    if (v.log) console.error(error.message);
    return error.message;
  }
  const common = commonConfig(v, logger, sink);
  if (typeof common === "string") return common;
  let started: { servers: SnowflakeServer[]; exitOnStdinClose: boolean };
  if (v.listen !== "") {
    try {
      started = { servers: [startStandalone(v, tls, common)], exitOnStdinClose: false };
    } catch (error) {
      return errorMessage(error);
    }
  } else {
    let info;
    try {
      info = serverSetup(Deno.env.toObject(), pt);
    } catch (error) {
      if (!(error instanceof PtEnvError)) throw error;
      return `error in setup: ${error.message}`;
    }
    pt.statusVersion("snowflake", denoJson.version);
    started = {
      servers: launchManagedServers(info, tls, common, pt),
      exitOnStdinClose: info.exitOnStdinClose,
    };
  }
  const metricsPort = started.servers[0]?.metricsPort;
  if (common.metrics && metricsPort) logger.info(`metrics at port ${metricsPort}`);
  return started;
}

/** Standalone mode: everything tor would give comes from flags. */
function startStandalone(
  v: ServerFlags,
  tls: ReturnType<typeof resolveTls>,
  common: CommonServerConfig,
): SnowflakeServer {
  const listen = resolveAddr(v.listen);
  const target: OrTarget = {};
  if (v.extorport) {
    if (!v["auth-cookie"]) throw new Error("-extorport needs -auth-cookie");
    target.extendedOrAddr = resolveAddr(v.extorport);
    target.authCookiePath = v["auth-cookie"];
  }
  if (v.orport) target.orAddr = resolveAddr(v.orport);
  if (!target.orAddr && !target.extendedOrAddr) {
    throw new Error("standalone mode needs -orport, or -extorport and -auth-cookie");
  }
  const options = parseTransportOptions(
    v["orport-srcaddr"] ? new PtArgs().add("orport-srcaddr", v["orport-srcaddr"]) : new PtArgs(),
  );
  const numTurbotunnel = parseNumTurbotunnel(String(v["num-turbotunnel"]));
  const server = startServer({
    ...common,
    hostname: tcpAddrHost(listen),
    port: listen.port,
    tls: tls.tls,
    numTurbotunnel,
    tor: { target, srcAddr: options.srcAddr },
  });
  common.logger.info(
    `listening on port ${server.port} (${tls.tls ? "wss" : "ws"}, ${numTurbotunnel} KCP instance(s))`,
  );
  return server;
}
