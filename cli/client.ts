/**
 * `snowflake client`: the Tor pluggable-transport client. Accepts Go
 * snowflake-client 2.5.1's flags. Run by tor (managed mode: TOR_PT_*
 * environment, `CMETHOD snowflake socks5 …`), or with -socks-addr on its own
 * (unmanaged: a plain SOCKS5 listener). Only flag parsing and wiring here;
 * see lib/client/.
 */

import denoJson from "../deno.json" with { type: "json" };
import {
  BridgeArgsError,
  DEFAULT_MAX_PROXIES,
  MAX_PADDING_IDLE_MS,
  MIN_PADDING_IDLE_MS,
  parsePaddingIdleMs,
} from "../lib/client/bridge_args.ts";
import { PADDING_MAX_BYTES, PADDING_MIN_BYTES } from "../lib/client/carrier_set.ts";
import { type Client, type ClientConfig, startClient } from "../lib/client/client.ts";
import { resolveAddr, tcpAddrHost } from "../lib/net/addr.ts";
import { clientSetup, PtProxyUrlError } from "../lib/pt/client_env.ts";
import { makeStateDir, PtEnvError } from "../lib/pt/env.ts";
import { PtMessages, stdoutPtSink } from "../lib/pt/messages.ts";
import { untilStopped } from "../lib/pt/stdin_close.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { flag, type FlagValues, parseCommandLine } from "../lib/util/flags.ts";
import { fileSink, Logger, type LogSink, nullSink, stderrSink } from "../lib/util/log.ts";

const SUMMARY = "Snowflake client pluggable transport, with Turbo Tunnel. Run by tor as a managed proxy " +
  "(ClientTransportPlugin snowflake exec …), or on its own with -socks-addr. Bridge-line " +
  "arguments (url=, front=, fronts=, ampcache=, ice=, max=, fingerprint=, padding=) override the flags.";

const FLAGS = {
  // Go snowflake-client 2.5.1
  ampcache: flag.string("", "URL of AMP cache to use as a proxy for signaling"),
  front: flag.string("", "front domain"),
  ice: flag.string("", "comma-separated list of ICE servers"),
  "keep-local-addresses": flag.bool(false, "keep local LAN address ICE candidates", {
    aliases: ["keepLocalAddresses"],
  }),
  log: flag.string("", "name of log file"),
  "log-to-state-dir": flag.bool(false, "resolve the log file relative to tor's pt state dir", {
    aliases: ["logToStateDir"],
  }),
  max: flag.int(
    DEFAULT_MAX_PROXIES,
    "capacity for number of multiplexed WebRTC peers: proxies carrying each session at once (ours " +
      `defaults to ${DEFAULT_MAX_PROXIES}, Go's to 1: with two, a dying proxy costs about a second instead of ` +
      "a rendezvous, for one more volunteer proxy per user)",
  ),
  "unsafe-logging": flag.bool(false, "prevent logs from being scrubbed"),
  url: flag.string("", "URL of signaling broker"),
  version: flag.bool(false, "display version info to stderr and quit"),
  // later upstream
  fronts: flag.string("", "comma-separated front domains, tried in turn"),
  // ours
  padding: flag.int(
    0,
    "padding: a proxy that sent nothing for this many ms sends " +
      `${PADDING_MIN_BYTES}–${PADDING_MAX_BYTES} bytes of padding, and the ClientID is followed by as much; ` +
      `${MIN_PADDING_IDLE_MS}–${MAX_PADDING_IDLE_MS}, 0 = off (bridge line: padding=)`,
  ),
  "socks-addr": flag.string(
    "",
    "unmanaged mode: listen for SOCKS5 on this IP:port instead of taking tor's environment",
  ),
  verbose: flag.bool(false, "log debug lines"),
};

type ClientFlags = FlagValues<typeof FLAGS>;
/** What every listener of this process shares: the flags as a client config without the SOCKS address. */
type CommonConfig = Omit<ClientConfig, "socksHost" | "socksPort"> & { logger: Logger };

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake client", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  if (v.version) {
    console.error(`snowflake-client ${denoJson.version} (Deno ${Deno.version.deno})`);
    return 0;
  }
  let paddingIdleMs;
  try {
    paddingIdleMs = parsePaddingIdleMs(`-padding ${v.padding}`, String(v.padding));
  } catch (error) {
    if (!(error instanceof BridgeArgsError)) throw error;
    console.error(error.message);
    return 2;
  }
  const managed = v["socks-addr"] === "";
  const env = Deno.env.toObject();
  const pt = new PtMessages(stdoutPtSink);
  const sink = logSink(v, managed, env);
  if (typeof sink === "string") {
    console.error(sink);
    return 1;
  }
  const logger = new Logger(sink, { unsafeLogging: v["unsafe-logging"], verbose: v.verbose });
  logger.info(`snowflake-client ${denoJson.version}`);
  const common = commonConfig(v, paddingIdleMs, logger, managed, pt);
  const started = managed ? await startManaged(common, env, pt) : await startUnmanaged(common, v, sink);
  if (started === undefined) return 1;
  const reason = await untilStopped(logger, started.exitOnStdinClose);
  logger.info(`caught signal "${reason}", stopping snowflake`);
  await started.client.stop();
  logger.info("snowflake is done.");
  return 0;
}

/** Go's client logs nothing without -log; unmanaged, we log to stderr instead. A string: why not. */
function logSink(v: ClientFlags, managed: boolean, env: Record<string, string>): LogSink | string {
  if (!v.log) return managed ? nullSink : stderrSink;
  let path = v.log;
  try {
    if (v["log-to-state-dir"]) path = `${makeStateDir(env)}/${v.log}`;
    Deno.openSync(path, { append: true, create: true, mode: 0o600 }).close();
  } catch (error) {
    return `can't open log file: ${errorMessage(error)}`;
  }
  return fileSink(path);
}

function commonConfig(
  v: ClientFlags,
  paddingIdleMs: number,
  logger: Logger,
  managed: boolean,
  pt: PtMessages,
): CommonConfig {
  return {
    transport: {
      brokerUrl: v.url,
      fronts: [...splitList(v.fronts), ...(v.front ? [v.front] : [])],
      ampCacheUrl: v.ampcache || undefined,
      iceServers: splitList(v.ice),
      max: v.max,
      paddingIdleMs,
    },
    keepLocalAddresses: v["keep-local-addresses"],
    logger,
    onUnsupported: (name: string, why: string) => {
      if (managed) pt.log("warning", `bridge line parameter ${name}: ${why}`);
    },
  };
}

/** -socks-addr: one SOCKS5 listener, no tor. undefined: it could not start (logged). */
async function startUnmanaged(
  common: CommonConfig,
  v: ClientFlags,
  sink: LogSink,
): Promise<{ client: Client; exitOnStdinClose: boolean } | undefined> {
  let client: Client;
  try {
    const addr = resolveAddr(v["socks-addr"]);
    client = await startClient({ ...common, socksHost: tcpAddrHost(addr), socksPort: addr.port });
  } catch (error) {
    common.logger.error(`-socks-addr: ${errorMessage(error)}`);
    if (sink === nullSink || v.log) console.error(`-socks-addr: ${errorMessage(error)}`);
    return undefined;
  }
  console.error(`SOCKS5 listening on ${client.socksAddr.hostname}:${client.socksAddr.port}`);
  return { client, exitOnStdinClose: false };
}

/** Run by tor: PT setup, a CMETHOD per method (only snowflake), tor told of proxies. undefined: none started. */
async function startManaged(
  common: CommonConfig,
  env: Record<string, string>,
  pt: PtMessages,
): Promise<{ client: Client; exitOnStdinClose: boolean } | undefined> {
  const { logger } = common;
  let info;
  try {
    info = clientSetup(env, pt);
  } catch (error) {
    if (error instanceof PtProxyUrlError) {
      pt.proxyError(`proxy is not supported (${error.message})`);
      return undefined;
    }
    if (!(error instanceof PtEnvError)) throw error;
    logger.error(`error in setup: ${error.message}`);
    return undefined;
  }
  if (info.proxyUrl) {
    pt.proxyError("proxy is not supported");
    logger.error("TOR_PT_PROXY is set; snowflake cannot use an upstream proxy");
    return undefined;
  }
  pt.statusVersion("snowflake", denoJson.version);
  let client: Client | undefined;
  for (const name of info.methodNames) {
    if (name !== "snowflake") {
      pt.cmethodError(name, "no such method");
      continue;
    }
    try {
      client = await startClient(common);
      pt.cmethod(name, `127.0.0.1:${client.socksAddr.port}`);
      logger.info(`started SOCKS listener at port ${client.socksAddr.port}`);
    } catch (error) {
      pt.cmethodError(name, errorMessage(error));
    }
  }
  pt.cmethodsDone();
  if (!client) return undefined;
  reportToTor(client, pt);
  return { client, exitOnStdinClose: info.exitOnStdinClose };
}

/** Proxy changes and rendezvous failures as LOG lines to tor. */
function reportToTor(client: Client, pt: PtMessages): void {
  client.events.addEventListener("proxyconnected", () => pt.log("notice", "snowflake proxy connected"));
  client.events.addEventListener("proxylost", (e) => {
    const next = e.detail.carrying ? "replacing it" : "spare";
    pt.log("notice", `snowflake proxy lost (${e.detail.reason}); ${next}`);
  });
  client.events.addEventListener("rendezvousfailed", (e) => {
    pt.log("warning", `rendezvous failed: ${e.detail.error.message}`);
  });
}

/** A comma-separated flag value as a list, empties dropped. */
function splitList(text: string): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
}
