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
import { type FlagSpecs, parseCommandLine } from "../lib/util/flags.ts";
import { Logger, stderrSink } from "../lib/util/log.ts";

const FLAGS: FlagSpecs = {
  "acme-email": {
    type: "string",
    default: "",
    help: "optional contact email for Let's Encrypt notifications",
  },
  "acme-hostnames": { type: "string", default: "", help: "comma-separated hostnames for TLS certificate" },
  "acme-cert-cache": {
    type: "string",
    default: "acme-cert-cache",
    help: "directory in which certificates should be cached",
  },
  cert: { type: "string", default: "", help: "TLS certificate file" },
  key: { type: "string", default: "", help: "TLS private key file" },
  addr: { type: "string", default: ":443", help: "address to listen on" },
  "disable-tls": { type: "bool", default: false, help: "don't use HTTPS" },
  geoipdb: {
    type: "string",
    default: "/usr/share/tor/geoip",
    help: "path to correctly formatted geoip database mapping IPv4 address ranges to country codes",
  },
  geoip6db: {
    type: "string",
    default: "/usr/share/tor/geoip6",
    help: "path to correctly formatted geoip database mapping IPv6 address ranges to country codes",
  },
  "disable-geoip": { type: "bool", default: false, help: "don't use geoip for stats collection" },
  "bridge-list-path": { type: "string", default: "", help: "file path for bridgeListFile" },
  "allowed-relay-pattern": { type: "string", default: "", help: "allowed pattern for relay host name" },
  "default-relay-pattern": { type: "string", default: "", help: "presumed pattern for legacy client" },
  "metrics-log": { type: "string", default: "", help: "path to metrics logging output" },
  "ip-count-log": { type: "string", default: "", help: "path to ip count logging output" },
  "ip-count-mask": { type: "string", default: "", help: "masking key for ip count logging" },
  "ip-count-interval": { type: "duration", default: 3_600_000, help: "time interval between each chunk" },
  "unsafe-logging": { type: "bool", default: false, help: "prevent logs from being scrubbed" },
  // Ours.
  "proxy-timeout": {
    type: "duration",
    default: PROXY_TIMEOUT_MS,
    help: "how long a proxy's poll is held waiting for a client (reference: 10s)",
  },
  "client-timeout": {
    type: "duration",
    default: CLIENT_TIMEOUT_MS,
    help: "how long a client waits for its proxy's answer (reference: 10s)",
  },
  "max-waiting-proxies": {
    type: "int",
    default: MAX_WAITING_PROXIES,
    help: "most proxy polls held at once; more get 503 with Retry-After",
  },
  "max-waiting-clients": {
    type: "int",
    default: MAX_WAITING_CLIENTS,
    help: "most clients waiting for an answer at once; more get 503 with Retry-After",
  },
  "max-tracked-addresses": {
    type: "int",
    default: MAX_TRACKED_ADDRESSES,
    help: "most distinct proxy addresses remembered per metrics period",
  },
  "allow-unknown-nat-matching": {
    type: "bool",
    default: false,
    help:
      "let clients of unknown NAT type be matched with proxies of unknown NAT type when no unrestricted " +
      "proxy waits (the reference never matches them; use where NAT probing cannot work, e.g. a private network)",
  },
  verbose: { type: "bool", default: false, help: "log every refused request (debug)" },
};

const SUMMARY = "Snowflake broker: matches clients' WebRTC offers with volunteer proxies.";

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake broker", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  const logger = new Logger(stderrSink, {
    unsafeLogging: v["unsafe-logging"] as boolean,
    verbose: v.verbose as boolean,
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
        cert: await Deno.readTextFile(v.cert as string),
        key: await Deno.readTextFile(v.key as string),
      };
    } catch (error) {
      return fatal(`cannot read TLS certificate or key: ${(error as Error).message}`);
    }
  } else if (!v["disable-tls"]) {
    return fatal("the --acme-hostnames, --cert and --key, or --disable-tls option is required");
  }

  let address;
  try {
    address = parseListenAddress(v.addr as string);
  } catch (error) {
    return fatal(`--addr: ${(error as Error).message}`);
  }

  let bridges = new BridgeList();
  let allowedRelayPattern = "";
  let defaultRelayPattern = "";
  if (v["bridge-list-path"]) {
    try {
      bridges = BridgeList.parse(await Deno.readTextFile(v["bridge-list-path"] as string));
    } catch (error) {
      return fatal(`--bridge-list-path: ${(error as Error).message}`);
    }
    // As in Go, the relay patterns are installed together with a bridge list.
    allowedRelayPattern = v["allowed-relay-pattern"] as string;
    defaultRelayPattern = v["default-relay-pattern"] as string;
  } else if (flags.seen.has("allowed-relay-pattern") || flags.seen.has("default-relay-pattern")) {
    logger.warn(
      "--allowed-relay-pattern and --default-relay-pattern take effect only with --bridge-list-path",
    );
  }

  const metrics = new BrokerMetrics({ maxTrackedAddresses: v["max-tracked-addresses"] as number });
  const loadGeoip = async (fatalOnError: boolean): Promise<number | undefined> => {
    try {
      logger.info("Loading geoip databases");
      metrics.geoip = await GeoipTable.load(v.geoipdb as string, v.geoip6db as string);
    } catch (error) {
      if (fatalOnError) return fatal((error as Error).message);
      logger.warn(`${(error as Error).message}: country statistics are off`);
    }
    return undefined;
  };
  if (!v["disable-geoip"]) {
    // Go exits when the databases are missing; we do that only when a path was given explicitly.
    const status = await loadGeoip(flags.seen.has("geoipdb") || flags.seen.has("geoip6db"));
    if (status !== undefined) return status;
  }

  let writeMetrics: (text: string) => void;
  const metricsLogPath = v["metrics-log"] as string;
  if (metricsLogPath) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(metricsLogPath, { append: true, create: true, write: true });
    } catch (error) {
      return fatal(`--metrics-log: ${(error as Error).message}`);
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
    proxyTimeoutMs: v["proxy-timeout"] as number,
    clientTimeoutMs: v["client-timeout"] as number,
    maxWaitingProxies: v["max-waiting-proxies"] as number,
    maxWaitingClients: v["max-waiting-clients"] as number,
    allowUnknownNatMatching: v["allow-unknown-nat-matching"] as boolean,
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
    return fatal(`cannot listen on ${v.addr}: ${(error as Error).message}`);
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
