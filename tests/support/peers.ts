/**
 * Test, demo and bench helper: the two implementations of each Snowflake peer
 * that the interop matrix, the private-Tor-network tests and `bench chain`
 * mix: Debian's Go `snowflake-client`/`snowflake-proxy` 2.5.1 and ours
 * (`deno run -A cli/main.ts client|proxy`), started with the same drop-in flags.
 */

import { type Proc, spawnProcess } from "./process.ts";
import { writeWrapper } from "./tor_network.ts";
import { processCpuSeconds } from "../../scripts/bench/row.ts";

const REPO = new URL("../../", import.meta.url).pathname;

export type Impl = "go" | "ours";

export interface ProxyOptions {
  broker: string;
  relay: string;
  stun: string;
  netns?: string;
  /** Relays on addresses like the test's 192.0.2.1 are refused without this (our flag; Go has none). */
  allowPrivateRelay?: boolean;
  extraArgs?: string[];
}

/** The proxy's command line: the Go proxy's flags, which ours accepts too. */
export function proxyCommand(impl: Impl, options: ProxyOptions): [string, string[]] {
  const relayHost = new URL(options.relay).hostname;
  const args = [
    "-broker",
    options.broker,
    "-relay",
    options.relay,
    "-allowed-relay-hostname-pattern",
    `${relayHost}$`, // a suffix match, not a regular expression
    "-allow-non-tls-relay",
    "-stun",
    options.stun,
    "-keep-local-addresses",
    ...(options.extraArgs ?? []),
  ];
  if (impl === "go") return ["snowflake-proxy", args];
  return [Deno.execPath(), ["run", "-A", `${REPO}cli/main.ts`, "proxy", ...args, ...OUR_PROXY_LOCAL_FLAGS]];
}

/** Flags of ours that a proxy needs on a private test network (relay on a non-public address). */
export const OUR_PROXY_LOCAL_FLAGS: string[] = ["-allow-proxying-to-private-addresses"];

export function startProxy(impl: Impl, options: ProxyOptions): Proc {
  const [cmd, args] = proxyCommand(impl, options);
  return spawnProcess(cmd, args, { netns: options.netns });
}

/**
 * The client as tor runs it (`ClientTransportPlugin snowflake exec <argv>`):
 * an absolute path (a wrapper script in `dir` for ours) and the Go client's flags.
 */
export async function clientPlugin(impl: Impl, dir: string, logFile: string): Promise<string[]> {
  const flags = ["-keep-local-addresses", "-log", logFile];
  if (impl === "go") return ["/usr/bin/snowflake-client", ...flags];
  return [await writeWrapper(`${dir}/snowflake-client`, "client"), ...flags];
}

/** Bytes the process has read (all file descriptors, sockets included): picks the busy proxy. */
export async function bytesRead(pid: number): Promise<number> {
  try {
    const io = await Deno.readTextFile(`/proc/${pid}/io`);
    return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
  } catch {
    return 0; // gone
  }
}

/** CPU seconds (user + system) the process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    return processCpuSeconds(pid);
  } catch {
    return 0;
  }
}

/** Which implementations exist in this checkout: ours once its cli/ subcommand has landed. */
export function availableImpls(): { clients: Impl[]; proxies: Impl[] } {
  const has = (name: string) => {
    try {
      return Deno.statSync(`${REPO}cli/${name}.ts`).isFile;
    } catch {
      return false;
    }
  };
  return {
    clients: has("client") ? ["go", "ours"] : ["go"],
    proxies: has("proxy") ? ["go", "ours"] : ["go"],
  };
}

/** Our server, standalone with plain ws:// on `listen` (IP:port, port 0 = any), in front of a plain ORPort. */
export function startOurServer(listen: string, orPort: number, options: { netns?: string } = {}): Proc {
  return spawnProcess(Deno.execPath(), [
    "run",
    "-A",
    `${REPO}cli/main.ts`,
    "server",
    "-disable-tls",
    "-listen",
    listen,
    "-orport",
    `127.0.0.1:${orPort}`,
  ], options);
}
