/**
 * `snowflake client`: the Tor pluggable-transport client. Accepts Go
 * snowflake-client 2.5.1's flags. Run by tor (managed mode: TOR_PT_*
 * environment, `CMETHOD snowflake socks5 …`), or with -socks-addr on its own
 * (unmanaged: a plain SOCKS5 listener). Only flag parsing and wiring here;
 * see lib/client/.
 */

import denoJson from "../deno.json" with { type: "json" };
import { type Client, startClient } from "../lib/client/client.ts";
import type { ClientTransportOptions } from "../lib/client/bridge_args.ts";
import { resolveAddr, tcpAddrHost } from "../lib/net/addr.ts";
import { clientSetup, PtProxyUrlError } from "../lib/pt/client_env.ts";
import { makeStateDir, PtEnvError } from "../lib/pt/env.ts";
import { PtMessages, stdoutPtSink } from "../lib/pt/messages.ts";
import { watchStdinClose } from "../lib/pt/stdin_close.ts";
import { errorMessage } from "../lib/util/errors.ts";
import { flag, parseCommandLine } from "../lib/util/flags.ts";
import { fileSink, Logger, type LogSink, nullSink, stderrSink } from "../lib/util/log.ts";

const SUMMARY = "Snowflake client pluggable transport, with Turbo Tunnel. Run by tor as a managed proxy " +
  "(ClientTransportPlugin snowflake exec …), or on its own with -socks-addr. Bridge-line " +
  "arguments (url=, front=, fronts=, ampcache=, ice=, max=, fingerprint=) override the flags.";

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
  max: flag.int(1, "capacity for number of multiplexed WebRTC peers"),
  "unsafe-logging": flag.bool(false, "prevent logs from being scrubbed"),
  url: flag.string("", "URL of signaling broker"),
  version: flag.bool(false, "display version info to stderr and quit"),
  // later upstream
  fronts: flag.string("", "comma-separated front domains, tried in turn"),
  // ours
  "socks-addr": flag.string(
    "",
    "unmanaged mode: listen for SOCKS5 on this IP:port instead of taking tor's environment",
  ),
  verbose: flag.bool(false, "log debug lines"),
};

export async function main(args: string[]): Promise<number> {
  const flags = parseCommandLine("snowflake client", SUMMARY, FLAGS, args);
  if (typeof flags === "number") return flags;
  const v = flags.values;
  if (v.version) {
    console.error(`snowflake-client ${denoJson.version} (Deno ${Deno.version.deno})`);
    return 0;
  }
  const managed = v["socks-addr"] === "";
  const env = Deno.env.toObject();
  const pt = new PtMessages(stdoutPtSink);

  // Go's client logs nothing without -log; unmanaged, we log to stderr instead.
  let sink: LogSink = managed ? nullSink : stderrSink;
  if (v.log) {
    let path = v.log;
    try {
      if (v["log-to-state-dir"]) path = `${makeStateDir(env)}/${v.log}`;
      Deno.openSync(path, { append: true, create: true, mode: 0o600 }).close();
    } catch (error) {
      console.error(`can't open log file: ${errorMessage(error)}`);
      return 1;
    }
    sink = fileSink(path);
  }
  const logger = new Logger(sink, { unsafeLogging: v["unsafe-logging"], verbose: v.verbose });
  logger.info(`snowflake-client ${denoJson.version}`);

  const fronts = [...splitList(v.fronts), ...(v.front ? [v.front] : [])];
  const transport: ClientTransportOptions = {
    brokerUrl: v.url,
    fronts,
    ampCacheUrl: v.ampcache || undefined,
    iceServers: splitList(v.ice),
    max: v.max,
  };
  const common = {
    transport,
    keepLocalAddresses: v["keep-local-addresses"],
    logger,
    onUnsupported: (name: string, why: string) => {
      if (managed) pt.log("warning", `bridge line parameter ${name}: ${why}`);
    },
  };

  let client: Client;
  let exitOnStdinClose = false;
  if (!managed) {
    try {
      const addr = resolveAddr(v["socks-addr"]);
      client = await startClient({ ...common, socksHost: tcpAddrHost(addr), socksPort: addr.port });
    } catch (error) {
      logger.error(`-socks-addr: ${errorMessage(error)}`);
      if (sink === nullSink || v.log) console.error(`-socks-addr: ${errorMessage(error)}`);
      return 1;
    }
    console.error(`SOCKS5 listening on ${client.socksAddr.hostname}:${client.socksAddr.port}`);
  } else {
    let info;
    try {
      info = clientSetup(env, pt);
    } catch (error) {
      if (error instanceof PtProxyUrlError) {
        pt.proxyError(`proxy is not supported (${error.message})`);
        return 1;
      }
      if (!(error instanceof PtEnvError)) throw error;
      logger.error(`error in setup: ${error.message}`);
      return 1;
    }
    if (info.proxyUrl) {
      pt.proxyError("proxy is not supported");
      logger.error("TOR_PT_PROXY is set; snowflake cannot use an upstream proxy");
      return 1;
    }
    pt.statusVersion("snowflake", denoJson.version);
    exitOnStdinClose = info.exitOnStdinClose;
    let started: Client | undefined;
    for (const name of info.methodNames) {
      if (name !== "snowflake") {
        pt.cmethodError(name, "no such method");
        continue;
      }
      try {
        started = await startClient(common);
        pt.cmethod(name, `127.0.0.1:${started.socksAddr.port}`);
        logger.info(`started SOCKS listener at port ${started.socksAddr.port}`);
      } catch (error) {
        pt.cmethodError(name, errorMessage(error));
      }
    }
    pt.cmethodsDone();
    if (!started) return 1;
    client = started;
    client.events.addEventListener("proxyconnected", () => pt.log("notice", "snowflake proxy connected"));
    client.events.addEventListener("proxylost", (e) => {
      pt.log(
        "notice",
        `snowflake proxy lost (${e.detail.reason}); ${
          e.detail.carrying ? "switching to the next one" : "spare"
        }`,
      );
    });
    client.events.addEventListener("rendezvousfailed", (e) => {
      pt.log("warning", `rendezvous failed: ${e.detail.error.message}`);
    });
  }

  const stop = Promise.withResolvers<string>();
  const signals: [Deno.Signal, () => void][] = [
    ["SIGTERM", () => stop.resolve("SIGTERM")],
    ["SIGINT", () => stop.resolve("SIGINT")],
  ];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);
  if (exitOnStdinClose) {
    watchStdinClose(() => {
      logger.info("synthesizing SIGTERM because of stdin close");
      stop.resolve("SIGTERM");
    });
  }
  const reason = await stop.promise;
  logger.info(`caught signal "${reason}", stopping snowflake`);
  for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  await client.stop();
  logger.info("snowflake is done.");
  return 0;
}

/** A comma-separated flag value as a list, empties dropped. */
function splitList(text: string): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "");
}
