/**
 * `snowflake broker`: the rendezvous server between clients and proxies
 * (SNOWFLAKE-PROTOCOL.md §4–§5). Accepts Go Snowflake 2.5.1 broker flags
 * (§4.11) plus ours (timeouts, waiting bounds, the unknown-NAT policy),
 * turns them into a BrokerConfig and runs lib/broker's startBroker until a
 * signal.
 */

import {
  type Broker,
  type BrokerConfig,
  BrokerStartError,
  type BrokerStartSource,
  startBroker,
} from "../lib/broker/broker.ts";
import { parseListenAddress } from "../lib/broker/listen_address.ts";
import {
  CLIENT_TIMEOUT_MS,
  MAX_WAITING_CLIENTS,
  MAX_WAITING_PROXIES,
  PROXY_TIMEOUT_MS,
} from "../lib/broker/matcher.ts";
import { MAX_TRACKED_ADDRESSES } from "../lib/broker/metrics.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { flag, type FlagValues, parseCommandLine } from "../lib/util/flags.ts";
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

type BrokerFlags = FlagValues<typeof FLAGS>;

/** Prefixes of a start error's message, naming the flag at fault as Go's messages do. */
const FLAG_OF: Record<BrokerStartSource, string> = {
  tls: "",
  "bridge-list": "--bridge-list-path: ",
  geoip: "",
  "metrics-log": "--metrics-log: ",
  listen: "",
};

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake broker", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  const logger = new Logger(stderrSink, { unsafeLogging: v["unsafe-logging"], verbose: v.verbose });
  const config = brokerConfig(v, flags.seen, logger);
  if (typeof config === "string") {
    logger.error(config);
    return 1;
  }

  let broker: Broker;
  try {
    broker = await startBroker(config);
  } catch (error) {
    if (!(error instanceof BrokerStartError)) throw error;
    const message = error.source === "listen"
      ? `cannot listen on ${v.addr}: ${error.message}`
      : error.message;
    logger.error(`${FLAG_OF[error.source]}${message}`);
    return 1;
  }
  const onSignal = () => broker.stop();
  const onHangup = () => {
    logger.info("Received signal: hangup. Reloading geoip databases.");
    broker.reloadGeoip();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGHUP", onHangup);
  await broker.finished;
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGHUP", onHangup);
  logger.info("broker stopped");
  return 0;
}

/** The flags as a {@link BrokerConfig}, or the one-line reason they cannot be. */
function brokerConfig(v: BrokerFlags, seen: Set<keyof BrokerFlags>, logger: Logger): BrokerConfig | string {
  // TLS: --cert and --key, or --disable-tls (Go's order of checks).
  let tls: BrokerConfig["tls"];
  if (v["acme-hostnames"]) {
    return "ACME (--acme-hostnames) is not supported by this broker: obtain a certificate (e.g. with certbot) " +
      "and pass --cert and --key, or use --disable-tls behind a TLS-terminating proxy";
  } else if (v.cert && v.key) {
    if (v["acme-email"]) {
      return "The --cert and --key options are not allowed with --acme-email or --acme-hostnames.";
    }
    tls = { certFile: v.cert, keyFile: v.key };
  } else if (!v["disable-tls"]) {
    return "the --acme-hostnames, --cert and --key, or --disable-tls option is required";
  }
  let listen;
  try {
    listen = parseListenAddress(v.addr);
  } catch (error) {
    return `--addr: ${errorMessage(error)}`;
  }
  if (v["ip-count-log"]) {
    return "--ip-count-log is not supported by this broker (Go writes gob-encoded HyperLogLog sketches)";
  }
  const bridgeListPath = v["bridge-list-path"] || undefined;
  if (!bridgeListPath && (seen.has("allowed-relay-pattern") || seen.has("default-relay-pattern"))) {
    logger.warn(
      "--allowed-relay-pattern and --default-relay-pattern take effect only with --bridge-list-path",
    );
  }
  return {
    listen,
    tls,
    bridgeListPath,
    // As in Go, the relay patterns are installed together with a bridge list.
    allowedRelayPattern: bridgeListPath ? v["allowed-relay-pattern"] : "",
    defaultRelayPattern: bridgeListPath ? v["default-relay-pattern"] : "",
    // Go exits when the databases are missing; we do that only when a path was given explicitly.
    geoip: v["disable-geoip"] ? undefined : {
      ipv4Path: v.geoipdb,
      ipv6Path: v.geoip6db,
      required: seen.has("geoipdb") || seen.has("geoip6db"),
    },
    metricsLogPath: v["metrics-log"] || undefined,
    matching: {
      proxyTimeoutMs: v["proxy-timeout"],
      clientTimeoutMs: v["client-timeout"],
      maxWaitingProxies: v["max-waiting-proxies"],
      maxWaitingClients: v["max-waiting-clients"],
      allowUnknownNatMatching: v["allow-unknown-nat-matching"],
    },
    maxTrackedAddresses: v["max-tracked-addresses"],
    logger,
  };
}
