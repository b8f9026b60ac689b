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
import { watchStdinClose } from "../lib/pt/stdin_close.ts";
import { type CommonServerConfig, launchManagedServers } from "../lib/server/managed.ts";
import { type SnowflakeServer, startSnowflakeServer } from "../lib/server/server.ts";
import { resolveTls, TlsConfigError } from "../lib/server/tls_config.ts";
import { parseNumTurbotunnel, parseTransportOptions } from "../lib/server/transport_options.ts";
import { PtArgs } from "../lib/pt/args.ts";
import { type FlagSpecs, parseCommandLine } from "../lib/util/flags.ts";
import { fileSink, Logger, type LogLevel, type LogSink, stderrSink } from "../lib/util/log.ts";

const SUMMARY =
  "WebSocket server pluggable transport for Snowflake, with Turbo Tunnel. Run by tor as a managed " +
  "proxy (ServerTransportPlugin), or on its own with -listen. TLS from -cert/-key, or -disable-tls.";

const FLAGS: FlagSpecs = {
  // Go snowflake-server 2.5.1
  "acme-email": {
    type: "string",
    default: "",
    help: "ACME contact email (ACME is not supported: use -cert/-key)",
  },
  "acme-hostnames": {
    type: "string",
    default: "",
    help: "comma-separated hostnames, reported to tor as hostname= (ACME is not supported: use -cert/-key)",
  },
  "acme-cert-cache": { type: "string", default: "", help: "ACME certificate cache (ACME is not supported)" },
  "disable-tls": { type: "bool", default: false, help: "don't use HTTPS (plain ws://)" },
  log: { type: "string", default: "", help: "log file to write to (default stderr)" },
  "unsafe-logging": { type: "bool", default: false, help: "prevent logs from being scrubbed" },
  version: { type: "bool", default: false, help: "display version info to stderr and quit" },
  // ours
  cert: { type: "string", default: "", help: "TLS certificate chain file (PEM)" },
  key: { type: "string", default: "", help: "TLS private key file (PEM)" },
  listen: {
    type: "string",
    default: "",
    help: "standalone mode: listen on this IP:port instead of taking tor's environment",
  },
  orport: { type: "string", default: "", help: "standalone mode: tor's ORPort, IP:port" },
  extorport: {
    type: "string",
    default: "",
    help: "standalone mode: tor's Extended ORPort, IP:port (with -auth-cookie)",
  },
  "auth-cookie": {
    type: "string",
    default: "",
    help: "standalone mode: tor's Extended ORPort auth cookie file",
  },
  "num-turbotunnel": {
    type: "int",
    default: 1,
    help: "standalone mode: number of KCP instances (Web Workers if > 1)",
  },
  "orport-srcaddr": {
    type: "string",
    default: "",
    help: "standalone mode: source IP or CIDR for connections to tor",
  },
  "disable-legacy": {
    type: "bool",
    default: false,
    help:
      "refuse clients without the Turbo Tunnel token, as Go 2.5.1 does (default: carry them as raw streams)",
  },
  "metrics-address": {
    type: "string",
    default: "",
    help: "serve Prometheus metrics at http://IP:port/metrics",
  },
  "stats-interval": {
    type: "duration",
    default: 24 * 3600_000,
    help: "how often to log the stats line (0 = never)",
  },
  "max-connections": {
    type: "int",
    default: 50_000,
    help: "most WebSocket connections at once (more get 503)",
  },
  "max-sessions": { type: "int", default: 10_000, help: "most KCP sessions at once per KCP instance" },
  verbose: { type: "bool", default: false, help: "log debug lines" },
};

const LEVELS: Record<LogLevel, "debug" | "info" | "warning" | "error"> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake server", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  if (v.version) {
    console.error(`snowflake-server ${denoJson.version} (Deno ${Deno.version.deno})`);
    return 0;
  }

  const standalone = v.listen !== "";
  const pt = new PtMessages(stdoutPtSink);
  let fileOrStderr: LogSink = stderrSink;
  if (v.log) {
    try {
      Deno.openSync(v.log as string, { append: true, create: true, mode: 0o600 }).close();
      fileOrStderr = fileSink(v.log as string);
    } catch (error) {
      console.error(`can't open log file: ${(error as Error).message}`);
      return 1;
    }
  }
  // In managed mode, warnings and errors also go to tor as LOG lines (without our timestamp).
  const sink: LogSink = standalone ? fileOrStderr : (line, level) => {
    fileOrStderr(line, level);
    if (level === "warn" || level === "error") pt.log(LEVELS[level], line.replace(/^\S+ \S+ /, ""));
  };
  const logger = new Logger(sink, {
    unsafeLogging: v["unsafe-logging"] as boolean,
    verbose: v.verbose as boolean,
  });
  logger.info(`snowflake-server ${denoJson.version}`);

  let tls;
  try {
    tls = resolveTls({
      disableTls: v["disable-tls"] as boolean,
      certFile: v.cert as string,
      keyFile: v.key as string,
      acmeHostnames: v["acme-hostnames"] as string,
      acmeEmail: v["acme-email"] as string,
      acmeCertCache: v["acme-cert-cache"] as string,
    });
  } catch (error) {
    if (!(error instanceof TlsConfigError)) throw error;
    logger.error(error.message);
    if (v.log) console.error(error.message);
    return 1;
  }

  const common: CommonServerConfig = {
    legacy: !v["disable-legacy"],
    logger,
    logSink: sink,
    unsafeLogging: v["unsafe-logging"] as boolean,
    verbose: v.verbose as boolean,
    maxConnections: v["max-connections"] as number,
    maxSessions: v["max-sessions"] as number,
    statsIntervalMs: v["stats-interval"] as number,
  };
  try {
    if (v["metrics-address"]) {
      const addr = resolveAddr(v["metrics-address"] as string);
      common.metrics = { hostname: tcpAddrHost(addr), port: addr.port };
    }
  } catch (error) {
    logger.error(`-metrics-address: ${(error as Error).message}`);
    return 1;
  }

  let servers: SnowflakeServer[];
  let exitOnStdinClose = false;
  if (standalone) {
    try {
      servers = [startStandalone(v, tls, common)];
    } catch (error) {
      logger.error((error as Error).message);
      return 1;
    }
  } else {
    let info;
    try {
      info = serverSetup(Deno.env.toObject(), pt);
    } catch (error) {
      if (!(error instanceof PtEnvError)) throw error;
      logger.error(`error in setup: ${error.message}`);
      return 1;
    }
    pt.statusVersion("snowflake", denoJson.version);
    exitOnStdinClose = info.exitOnStdinClose;
    servers = launchManagedServers(info, tls, common, pt);
  }
  if (common.metrics && servers[0]?.metricsPort) logger.info(`metrics at port ${servers[0].metricsPort}`);

  const stop = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => stop.resolve(name);
  const signals: [Deno.Signal, () => void][] = [["SIGTERM", onSignal("SIGTERM")], [
    "SIGINT",
    onSignal("SIGINT"),
  ]];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);
  if (exitOnStdinClose) {
    watchStdinClose(() => {
      logger.info("synthesizing SIGTERM because of stdin close");
      stop.resolve("SIGTERM");
    });
  }
  const reason = await stop.promise;
  logger.info(`caught signal "${reason}", exiting`);
  for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  await Promise.all(servers.map((server) => server.close()));
  return 0;
}

/** Standalone mode: everything tor would give comes from flags. */
function startStandalone(
  v: Record<string, unknown>,
  tls: ReturnType<typeof resolveTls>,
  common: CommonServerConfig,
): SnowflakeServer {
  const listen = resolveAddr(v.listen as string);
  const target: OrTarget = {};
  if (v.extorport) {
    if (!v["auth-cookie"]) throw new Error("-extorport needs -auth-cookie");
    target.extendedOrAddr = resolveAddr(v.extorport as string);
    target.authCookiePath = v["auth-cookie"] as string;
  }
  if (v.orport) target.orAddr = resolveAddr(v.orport as string);
  if (!target.orAddr && !target.extendedOrAddr) {
    throw new Error("standalone mode needs -orport, or -extorport and -auth-cookie");
  }
  const options = parseTransportOptions(
    v["orport-srcaddr"] ? new PtArgs().add("orport-srcaddr", v["orport-srcaddr"] as string) : new PtArgs(),
  );
  const numTurbotunnel = parseNumTurbotunnel(String(v["num-turbotunnel"]));
  const server = startSnowflakeServer({
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
