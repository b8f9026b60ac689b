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
  /** For ours: `deno run` flags before the script (e.g. `--cpu-prof`). */
  denoFlags?: string[];
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
  const deno = ["run", "-A", ...(options.denoFlags ?? []), `${REPO}cli/main.ts`, "proxy"];
  return [Deno.execPath(), [...deno, ...args, ...OUR_PROXY_LOCAL_FLAGS]];
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

/** TCP bytes received and acknowledged per process, over its open sockets (`ss -tinp`, in `netns` if given). */
async function tcpBytesByPid(netns?: string): Promise<Map<number, number>> {
  const [cmd, args] = netns ? ["ip", ["netns", "exec", netns, "ss", "-tinpH"]] : ["ss", ["-tinpH"]];
  const output = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
  const totals = new Map<number, number>();
  let pids: number[] = [];
  for (const line of new TextDecoder().decode(output.stdout).split("\n")) {
    if (!line.startsWith("\t") && !line.startsWith(" ")) {
      pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      continue;
    }
    const bytes = ["bytes_received", "bytes_acked"]
      .reduce((sum, key) => sum + Number(new RegExp(`${key}:(\\d+)`).exec(line)?.[1] ?? 0), 0);
    for (const pid of pids) totals.set(pid, (totals.get(pid) ?? 0) + bytes);
  }
  return totals;
}

/**
 * Finds the busy proxy: marks the TCP bytes each of `procs` has moved now (its WebSocket to the bridge, its polls),
 * and `busiest()` later returns the one that has moved the most since (`moved()`: what each moved). (Not /proc/PID/io: a Deno process reads
 * megabytes of modules as it starts, and socket receives are not counted there.)
 */
export async function readMeter(
  procs: Proc[],
  netns?: string,
): Promise<{ busiest(): Promise<Proc>; moved(): Promise<number[]> }> {
  const base = await tcpBytesByPid(netns);
  const moved = async () => {
    const now = await tcpBytesByPid(netns);
    return procs.map((p) => (now.get(p.pid) ?? 0) - (base.get(p.pid) ?? 0));
  };
  return {
    async busiest() {
      const deltas = await moved();
      return procs[deltas.indexOf(Math.max(...deltas))];
    },
    /** TCP bytes each of `procs` moved since the mark, in their order. */
    moved,
  };
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
export function startOurServer(
  listen: string,
  orPort: number,
  options: { netns?: string; args?: string[] } = {},
): Proc {
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
    ...(options.args ?? []),
  ], { netns: options.netns });
}
