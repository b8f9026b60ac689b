/**
 * `snowflake broker`: the rendezvous server between clients and proxies
 * (SNOWFLAKE-PROTOCOL.md §4–§5). Accepts Go Snowflake 2.5.1 broker flags
 * (§4.11) plus ours (timeouts, waiting bounds, the unknown-NAT policy);
 * parses them, wires lib/broker together and serves it with Deno.serve.
 */

import { BridgeList } from "../lib/broker/bridge_list.ts";
import { GeoipTable } from "../lib/broker/geoip.ts";
import { brokerHandler } from "../lib/broker/handler.ts";
import { parseListenAddress } from "../lib/broker/listen_address.ts";
import {
  CLIENT_TIMEOUT_MS,
  MAX_WAITING_CLIENTS,
  MAX_WAITING_PROXIES,
  PROXY_TIMEOUT_MS,
} from "../lib/broker/matcher.ts";
import { BrokerMetrics, MAX_TRACKED_ADDRESSES } from "../lib/broker/metrics.ts";
import { MetricsLog } from "../lib/broker/metrics_log.ts";
import { Rendezvous } from "../lib/broker/rendezvous.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { flag, parseCommandLine } from "../lib/util/flags.ts";
import { Logger, stderrSink } from "../lib/util/log.ts";

const FLAGS = {
  "acme-email": flag.string("", "optional contact email for Let's Encrypt notifications"),
  "acme-hostnames": flag.string("", "comma-separated hostnames for TLS certificate"),
  "acme-cert-cache": flag.string("acme-cert-cache", "directory in which certificates should be cached"),
  cert: flag.string("", "TLS certificate file"),
  key: flag.string("", "TLS private key file"),
  addr: flag.string(":443", "address to listen on"),
  "disable-tls": flag.bool(false, "don't use HTTPS"),
  geoipdb: flag.string(
    "/usr/share/tor/geoip",
    "path to correctly formatted geoip database mapping IPv4 address ranges to country codes",
  ),
  geoip6db: flag.string(
    "/usr/share/tor/geoip6",
    "path to correctly formatted geoip database mapping IPv6 address ranges to country codes",
  ),
  "disable-geoip": flag.bool(false, "don't use geoip for stats collection"),
  "bridge-list-path": flag.string("", "file path for bridgeListFile"),
  "allowed-relay-pattern": flag.string("", "allowed pattern for relay host name"),
  "default-relay-pattern": flag.string("", "presumed pattern for legacy client"),
  "metrics-log": flag.string("", "path to metrics logging output"),
  "ip-count-log": flag.string("", "path to ip count logging output"),
  "ip-count-mask": flag.string("", "masking key for ip count logging"),
  "ip-count-interval": flag.duration(3_600_000, "time interval between each chunk"),
  "unsafe-logging": flag.bool(false, "prevent logs from being scrubbed"),
  // Ours.
  "proxy-timeout": flag.duration(
    PROXY_TIMEOUT_MS,
    "how long a proxy's poll is held waiting for a client (reference: 10s)",
  ),
  "client-timeout": flag.duration(
    CLIENT_TIMEOUT_MS,
    "how long a client waits for its proxy's answer (reference: 10s)",
  ),
  "max-waiting-proxies": flag.int(
    MAX_WAITING_PROXIES,
    "most proxy polls held at once; more get 503 with Retry-After",
  ),
  "max-waiting-clients": flag.int(
    MAX_WAITING_CLIENTS,
    "most clients waiting for an answer at once; more get 503 with Retry-After",
  ),
  "max-tracked-addresses": flag.int(
    MAX_TRACKED_ADDRESSES,
    "most distinct proxy addresses remembered per metrics period",
  ),
  "allow-unknown-nat-matching": flag.bool(
    false,
    "let clients of unknown NAT type be matched with proxies of unknown NAT type when no unrestricted " +
      "proxy waits (the reference never matches them; use where NAT probing cannot work, e.g. a private network)",
  ),
  verbose: flag.bool(false, "log every refused request (debug)"),
};

const SUMMARY = "Snowflake broker: matches clients' WebRTC offers with volunteer proxies.";

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake broker", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  const logger = new Logger(stderrSink, {
    unsafeLogging: v["unsafe-logging"],
    verbose: v.verbose,
  });
  const fatal = (message: string) => {
    logger.error(message);
    return 1;
  };

  // TLS: --cert and --key, or --disable-tls (Go's order of checks).
  let tls: { cert: string; key: string } | undefined;
  if (v["acme-hostnames"]) {
    return fatal(
      "ACME (--acme-hostnames) is not supported by this broker: obtain a certificate (e.g. with certbot) " +
        "and pass --cert and --key, or use --disable-tls behind a TLS-terminating proxy",
    );
  } else if (v.cert && v.key) {
    if (v["acme-email"]) {
      return fatal("The --cert and --key options are not allowed with --acme-email or --acme-hostnames.");
    }
    try {
      tls = {
        cert: await Deno.readTextFile(v.cert),
        key: await Deno.readTextFile(v.key),
      };
    } catch (error) {
      return fatal(`cannot read TLS certificate or key: ${errorMessage(error)}`);
    }
  } else if (!v["disable-tls"]) {
    return fatal("the --acme-hostnames, --cert and --key, or --disable-tls option is required");
  }

  let address;
  try {
    address = parseListenAddress(v.addr);
  } catch (error) {
    return fatal(`--addr: ${errorMessage(error)}`);
  }

  let bridges = new BridgeList();
  let allowedRelayPattern = "";
  let defaultRelayPattern = "";
  if (v["bridge-list-path"]) {
    try {
      bridges = BridgeList.parse(await Deno.readTextFile(v["bridge-list-path"]));
    } catch (error) {
      return fatal(`--bridge-list-path: ${errorMessage(error)}`);
    }
    // As in Go, the relay patterns are installed together with a bridge list.
    allowedRelayPattern = v["allowed-relay-pattern"];
    defaultRelayPattern = v["default-relay-pattern"];
  } else if (flags.seen.has("allowed-relay-pattern") || flags.seen.has("default-relay-pattern")) {
    logger.warn(
      "--allowed-relay-pattern and --default-relay-pattern take effect only with --bridge-list-path",
    );
  }

  const metrics = new BrokerMetrics({ maxTrackedAddresses: v["max-tracked-addresses"] });
  const loadGeoip = async (fatalOnError: boolean): Promise<number | undefined> => {
    try {
      logger.info("Loading geoip databases");
      metrics.geoip = await GeoipTable.load(v.geoipdb, v.geoip6db);
    } catch (error) {
      if (fatalOnError) return fatal(errorMessage(error));
      logger.warn(`${errorMessage(error)}: country statistics are off`);
    }
    return undefined;
  };
  if (!v["disable-geoip"]) {
    // Go exits when the databases are missing; we do that only when a path was given explicitly.
    const status = await loadGeoip(flags.seen.has("geoipdb") || flags.seen.has("geoip6db"));
    if (status !== undefined) return status;
  }

  let writeMetrics: (text: string) => void;
  const metricsLogPath = v["metrics-log"];
  if (metricsLogPath) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(metricsLogPath, { append: true, create: true, write: true });
    } catch (error) {
      return fatal(`--metrics-log: ${errorMessage(error)}`);
    }
    writeMetrics = (text) => file.writeSync(new TextEncoder().encode(text));
  } else {
    writeMetrics = (text) => Deno.stdout.writeSync(new TextEncoder().encode(text));
  }
  if (v["ip-count-log"]) {
    return fatal(
      "--ip-count-log is not supported by this broker (Go writes gob-encoded HyperLogLog sketches)",
    );
  }

  const rendezvous = new Rendezvous({
    proxyTimeoutMs: v["proxy-timeout"],
    clientTimeoutMs: v["client-timeout"],
    maxWaitingProxies: v["max-waiting-proxies"],
    maxWaitingClients: v["max-waiting-clients"],
    allowUnknownNatMatching: v["allow-unknown-nat-matching"],
  });
  const handler = brokerHandler({
    rendezvous,
    bridges,
    metrics,
    logger,
    allowedRelayPattern,
    defaultRelayPattern,
    metricsLogPath: metricsLogPath || undefined,
  });
  const metricsLog = new MetricsLog(metrics, writeMetrics);
  metricsLog.start();

  const shutdown = new AbortController();
  const onSignal = () => shutdown.abort();
  const onHangup = () => {
    logger.info("Received signal: hangup. Reloading geoip databases.");
    loadGeoip(false);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGHUP", onHangup);

  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: address.hostname || "[::]",
      port: address.port,
      ...(tls ?? {}),
      signal: shutdown.signal,
      onListen: ({ port }) => {
        // The port on its own line survives IP scrubbing (tests read it when --addr asks for port 0).
        logger.info(`broker serving ${tls ? "https" : "http"} on port ${port}`);
      },
    }, handler);
  } catch (error) {
    metricsLog.stop();
    return fatal(`cannot listen on ${v.addr}: ${errorMessage(error)}`);
  }
  shutdown.signal.addEventListener("abort", () => rendezvous.close());
  await server.finished;
  metricsLog.stop();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGHUP", onHangup);
  logger.info("broker stopped");
  return 0;
}
