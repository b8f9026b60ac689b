/**
 * `snowflake proxy`: the standalone volunteer proxy, a drop-in for Go
 * `snowflake-proxy` 2.5.1 (SNOWFLAKE-PROTOCOL.md §6.1): its flags and
 * defaults, upstream's later `-poll-interval`, `-metrics*`, `-outbound-address`
 * and `-allow-proxying-to-private-addresses`, and ours (`-bandwidth-cap`,
 * `-max-backoff`). Only turns flags into a ProxyConfig; see lib/proxy/.
 */

import denoJson from "../deno.json" with { type: "json" };
import {
  DEFAULT_BROKER_URL,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_NAT_RETEST_INTERVAL_MS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_RELAY_PATTERN,
  DEFAULT_RELAY_URL,
  DEFAULT_STUN_URL,
  DEFAULT_SUMMARY_INTERVAL_MS,
  ProxyConfigError,
} from "../lib/proxy/config.ts";
import { proxyMetricsHandler } from "../lib/proxy/metrics.ts";
import { untilStopped } from "../lib/pt/stdin_close.ts";
import { stunNatProbe } from "../lib/proxy/nat_probe.ts";
import { startProxy } from "../lib/proxy/proxy.ts";
import { resolveHostDns } from "../lib/net/resolve.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { flag, parseCommandLine } from "../lib/util/flags.ts";
import { Logger, type LogSink, stderrSink } from "../lib/util/log.ts";

const FLAGS = {
  // Go snowflake-proxy 2.5.1
  "allow-non-tls-relay": flag.bool(false, "allow relay without tls encryption"),
  "allowed-relay-hostname-pattern": flag.string(
    DEFAULT_RELAY_PATTERN,
    "a pattern to specify allowed hostname pattern for relay URL.",
  ),
  broker: flag.string(DEFAULT_BROKER_URL, "broker URL"),
  capacity: flag.int(0, "maximum concurrent clients (default is to accept an unlimited number of clients)"),
  "ephemeral-ports-range": flag.string("", 'ICE UDP ephemeral ports range (format:"<min>:<max>")'),
  "keep-local-addresses": flag.bool(false, "keep local LAN address ICE candidates"),
  log: flag.string("", "log filename"),
  "nat-retest-interval": flag.duration(
    DEFAULT_NAT_RETEST_INTERVAL_MS,
    'the time interval in second before NAT type is retested, 0s disables retest. Valid time units are "s", "m", "h". ',
  ),
  relay: flag.string(DEFAULT_RELAY_URL, "websocket relay URL"),
  stun: flag.string(DEFAULT_STUN_URL, "STUN URL"),
  "summary-interval": flag.duration(
    DEFAULT_SUMMARY_INTERVAL_MS,
    'the time interval to output summary, 0s disables summaries. Valid time units are "s", "m", "h". ',
  ),
  "unsafe-logging": flag.bool(false, "prevent logs from being scrubbed"),
  verbose: flag.bool(false, "increase log verbosity"),
  version: flag.bool(false, "display version info to stderr and quit"),
  // Later upstream versions
  "poll-interval": flag.duration(
    DEFAULT_POLL_INTERVAL_MS,
    'how often to ask the broker for a new client. Minimum value is 2s. Valid time units are "ms", "s", "m", "h".',
  ),
  "allow-proxying-to-private-addresses": flag.bool(
    false,
    "allow forwarding client connections to private IP addresses (loopback, RFC 1918, link-local)",
  ),
  "outbound-address": flag.string("", "prefer the given address as outbound address"),
  metrics: flag.bool(false, "enable the exposition of Prometheus metrics"),
  "metrics-address": flag.string("localhost", "set listen address for metrics service"),
  "metrics-port": flag.int(9999, "set port for the metrics service"),
  // Ours
  "bandwidth-cap": flag.int(
    0,
    "most bytes per second relayed, all clients and both directions together; 0 = no cap",
  ),
  "max-backoff": flag.duration(
    DEFAULT_MAX_BACKOFF_MS,
    "longest wait between polls after consecutive broker errors",
  ),
};

const SUMMARY =
  "Snowflake proxy: polls the broker for clients and relays their WebRTC data channel to the bridge.";

/** `-ephemeral-ports-range min:max`, both 1–65535, min <= max (Go's messages). */
function parsePortRange(text: string): { min: number; max: number } {
  const parts = text.split(":");
  if (parts.length !== 2) throw new Error(`Bad range port format: ${text}`);
  const [min, max] = parts.map((part) => {
    if (!/^\d{1,5}$/.test(part) || Number(part) > 65535) {
      throw new Error(`invalid port ${JSON.stringify(part)}`);
    }
    return Number(part);
  });
  if (min === 0 || max === 0) throw new Error("Ephemeral port cannot be zero");
  if (min > max) throw new Error("Invalid port range: min > max");
  return { min, max };
}

/** `-log FILE`: appended to, created with mode 0600 as Go does. */
function logFileSink(path: string): LogSink {
  const file = Deno.openSync(path, { append: true, create: true, write: true, mode: 0o600 });
  const encoder = new TextEncoder();
  return (line) => {
    file.writeSync(encoder.encode(line + "\n"));
  };
}

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake proxy", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  if (v.version) {
    console.error(`snowflake-proxy ${denoJson.version} (Deno ${Deno.version.deno})`);
    return 0;
  }
  let sink: LogSink = stderrSink;
  if (v.log) {
    try {
      const file = logFileSink(v.log);
      sink = (line, level) => {
        stderrSink(line, level);
        file(line, level);
      };
    } catch (error) {
      console.error(`-log ${v.log}: ${errorMessage(error)}`);
      return 1;
    }
  }
  const logger = new Logger(sink, { unsafeLogging: v["unsafe-logging"], verbose: v.verbose });
  const fatal = (message: string) => {
    logger.error(message);
    return 1;
  };
  if (v.capacity < 0) return fatal(`-capacity ${v.capacity}: must be >= 0`);
  if (v["bandwidth-cap"] < 0) return fatal(`-bandwidth-cap ${v["bandwidth-cap"]}: must be >= 0`);
  let ephemeralPortRange;
  if (v["ephemeral-ports-range"]) {
    try {
      ephemeralPortRange = parsePortRange(v["ephemeral-ports-range"]);
    } catch (error) {
      return fatal(`-ephemeral-ports-range: ${errorMessage(error)}`);
    }
  }
  if (v["outbound-address"] && v["keep-local-addresses"]) {
    return fatal("Cannot keep local address candidates when outbound address is specified");
  }
  logger.info(`snowflake-proxy ${denoJson.version}`);
  // Listening before the proxy starts: a SIGTERM during start-up is an orderly stop too.
  const caught = untilStopped(logger, false);
  let proxy;
  try {
    proxy = startProxy({
      brokerUrl: v.broker,
      relayUrl: v.relay,
      stunUrl: v.stun,
      capacity: v.capacity,
      allowedRelayHostnamePattern: v["allowed-relay-hostname-pattern"],
      allowNonTlsRelay: v["allow-non-tls-relay"],
      allowPrivateAddresses: v["allow-proxying-to-private-addresses"],
      keepLocalAddresses: v["keep-local-addresses"],
      ephemeralPortRange,
      outboundAddress: v["outbound-address"],
      pollIntervalMs: v["poll-interval"],
      maxBackoffMs: v["max-backoff"],
      natRetestIntervalMs: v["nat-retest-interval"],
      summaryIntervalMs: v["summary-interval"],
      bandwidthCapBytesPerSecond: v["bandwidth-cap"],
      resolveHost: resolveHostDns,
      // RFC 5780 mapping and filtering tests over -stun (the Go proxy's probe server is fixed to the Tor
      // Project's); "unknown" when the server cannot tell (e.g. no OTHER-ADDRESS).
      probeNat: v.stun ? stunNatProbe(v.stun, logger) : undefined,
      logger,
    });
  } catch (error) {
    if (error instanceof ProxyConfigError || error instanceof TypeError) return fatal(errorMessage(error));
    throw error;
  }
  let metricsServer: Deno.HttpServer<Deno.NetAddr> | undefined;
  if (v.metrics) {
    try {
      const server = Deno.serve(
        { hostname: v["metrics-address"], port: v["metrics-port"], onListen: () => {} },
        proxyMetricsHandler(() => proxy.stats()),
      );
      metricsServer = server;
      logger.info(`metrics on port ${server.addr.port} at /internal/metrics`);
    } catch (error) {
      await proxy.stop();
      return fatal(`-metrics: ${errorMessage(error)}`);
    }
  }
  const signal = await caught;
  logger.info(`caught signal "${signal}", exiting`);
  await proxy.stop();
  await metricsServer?.shutdown();
  return 0;
}
