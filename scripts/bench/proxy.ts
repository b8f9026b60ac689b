/**
 * `deno task bench proxy`: our proxy against Debian's `snowflake-proxy` 2.5.1
 * on the same path in the same run (tests/proxy/go_client_chain.ts: Debian's
 * `snowflake-client` → the proxy → our broker → our server → a stand-in
 * ORPort, each chain in a network namespace of its own, both chains up at
 * once, their transfers alternated so that the machine's load falls on both).
 *
 * Per proxy: MB/s down and up (first to last byte, one direction at a time),
 * the proxy's CPU seconds per 100 MB over those transfers (from
 * /proc/<pid>/stat, rendezvous included), RSS idle (polling, no client) and
 * peak RSS with 20 concurrent clients (each moves 1 MB each way and stays
 * connected until all 20 have). Medians of several runs.
 *
 * `--perf` adds where each proxy's CPU goes: one more transfer each way with
 * perf sampling the proxy (cpu_profile.ts), its CPU s/100 MB split by kind
 * (kernel, Go code, Deno/V8/JS, other), and the heaviest
 * symbols on stderr.
 */

import { type Bench, type BenchRow, median, processCpuSeconds, rssMb } from "./row.ts";
import { type Chain, type ProxyKind, startChain } from "../../tests/proxy/go_client_chain.ts";
import { spawnIn } from "../../tests/util/netns_process.ts";
import { type CpuKind, perfAvailable, profileWhile } from "./cpu_profile.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const KINDS: ProxyKind[] = ["ours", "go"];

interface Figures {
  downMBps: number[];
  upMBps: number[];
  cpuPer100MB: number[];
  rssIdle: number;
  rss20: number;
}

async function oneDirection(
  chain: Chain,
  size: number,
  direction: "down" | "up",
  deadline: number,
): Promise<{ mbps: number; cpu: number }> {
  const payload = crypto.getRandomValues(new Uint8Array(65_536));
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += payload.length) {
    data.set(payload.subarray(0, Math.min(payload.length, size - i)), i);
  }
  const empty = new Uint8Array(0);
  const pid = chain.proxy.child.pid;
  const before = processCpuSeconds(pid);
  const result = direction === "down"
    ? await chain.transfer(empty, data, deadline)
    : await chain.transfer(data, empty, deadline);
  const cpu = processCpuSeconds(pid) - before;
  const got = direction === "down" ? result.downBytes : result.upBytes;
  if (result.error || got !== size) {
    throw new Error(`${direction}: ${result.error ?? `${got} of ${size} bytes`}`);
  }
  const ms = direction === "down" ? result.downMs : result.upMs;
  return { mbps: size / 1e6 / (ms / 1000), cpu };
}

/** Peak proxy RSS while `clients` Go clients are connected at once. */
async function rssWithClients(chain: Chain, clients: number, deadline: number): Promise<number> {
  const pid = chain.proxy.child.pid;
  let peak = rssMb(pid);
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch { /* exited */ }
  }, 100);
  const started = await Promise.all(Array.from({ length: clients }, () => chain.startClient(deadline)));
  try {
    const users = spawnIn(chain.netns, Deno.execPath(), [
      "run",
      "-A",
      `${REPO}tests/proxy/fixtures/many_clients.ts`,
      String(chain.orPort),
      chain.ptArgs,
      String(1_000_000),
      String(Math.max(1_000, deadline - Date.now())),
      ...started.map((s) => String(s.socksPort)),
    ]);
    try {
      const line = await users.waitFor(/^\{.*\}$/m, deadline);
      const result = JSON.parse(line[0]) as { done: number; errors: string[] };
      if (result.done !== clients) {
        throw new Error(`${result.done} of ${clients} clients: ${result.errors[0]}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      peak = Math.max(peak, rssMb(pid));
    } finally {
      await users.stop();
    }
  } finally {
    clearInterval(sampler);
    for (const s of started) await s.client.stop();
  }
  return peak;
}

export const bench: Bench = async ({ quick }) => {
  const runs = quick ? 1 : 5;
  const size = quick ? 2_000_000 : 20_000_000;
  const clients = quick ? 3 : 20;
  const deadline = Date.now() + (quick ? 240_000 : 1_500_000);
  const chains = new Map<ProxyKind, Chain>();
  const figures = new Map<ProxyKind, Figures>();
  /** With --perf: "direction: kind of code" → each proxy's CPU s/100 MB in it. */
  const profiles = new Map<string, Partial<Record<ProxyKind, number>>>();
  try {
    for (const kind of KINDS) {
      chains.set(kind, await startChain(kind, { name: `sfbench${kind}`, deadline }));
      figures.set(kind, { downMBps: [], upMBps: [], cpuPer100MB: [], rssIdle: NaN, rss20: NaN });
    }
    // Idle: polling for a while, no client yet.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    for (const kind of KINDS) figures.get(kind)!.rssIdle = rssMb(chains.get(kind)!.proxy.child.pid);
    for (let run = 0; run < runs; run++) {
      for (const direction of ["down", "up"] as const) {
        for (const kind of KINDS) {
          const { mbps, cpu } = await oneDirection(chains.get(kind)!, size, direction, deadline);
          const f = figures.get(kind)!;
          (direction === "down" ? f.downMBps : f.upMBps).push(mbps);
          f.cpuPer100MB.push(cpu / size * 1e8);
          console.error(
            `bench proxy: ${kind} ${direction} ${mbps.toFixed(2)} MB/s, ${
              (cpu / size * 1e8).toFixed(2)
            } CPU s/100 MB`,
          );
        }
      }
    }
    if (Deno.args.includes("--perf")) {
      if (!await perfAvailable()) throw new Error("--perf needs perf (Debian: linux-perf)");
      for (const direction of ["down", "up"] as const) {
        for (const kind of KINDS) {
          const chain = chains.get(kind)!;
          let run = { mbps: 0, cpu: 0 };
          const profile = await profileWhile(chain.proxy.child.pid, async () => {
            run = await oneDirection(chain, size, direction, deadline);
          });
          const per100MB = run.cpu / size * 1e8;
          for (const [cpuKind, share] of Object.entries(profile.shares) as [CpuKind, number][]) {
            const key = `${direction}: ${cpuKind}`;
            const split = profiles.get(key) ?? {};
            split[kind] = share / 100 * per100MB;
            profiles.set(key, split);
          }
          console.error(
            `bench proxy: perf ${kind} ${direction} (${profile.samples} samples, ${
              per100MB.toFixed(2)
            } CPU s/100 MB): ` +
              profile.top.join("; "),
          );
        }
      }
    }
    for (const kind of KINDS) {
      figures.get(kind)!.rss20 = await rssWithClients(chains.get(kind)!, clients, deadline);
      console.error(
        `bench proxy: ${kind} RSS with ${clients} clients ${figures.get(kind)!.rss20.toFixed(1)} MB`,
      );
    }
  } finally {
    for (const chain of chains.values()) await chain.stop();
  }
  const ours = figures.get("ours")!;
  const go = figures.get("go")!;
  const note = `${runs} runs of ${
    size / 1e6
  } MB, medians; Go snowflake-client 2.5.1 → proxy → our broker/server`;
  const rows: BenchRow[] = [
    {
      case: "proxy download (bridge → client)",
      unit: "MB/s",
      ours: median(ours.downMBps),
      best: Math.max(...ours.downMBps),
      reference: median(go.downMBps),
      note,
    },
    {
      case: "proxy upload (client → bridge)",
      unit: "MB/s",
      ours: median(ours.upMBps),
      best: Math.max(...ours.upMBps),
      reference: median(go.upMBps),
      note,
    },
    {
      case: "proxy CPU per 100 MB relayed (both directions' runs)",
      unit: "CPU s/100 MB",
      ours: median(ours.cpuPer100MB),
      best: Math.min(...ours.cpuPer100MB),
      reference: median(go.cpuPer100MB),
      note: "target: at most half of Go's",
    },
    { case: "proxy RSS idle (polling)", unit: "MB", ours: ours.rssIdle, reference: go.rssIdle },
    {
      case: `proxy peak RSS, ${clients} concurrent clients`,
      unit: "MB",
      ours: ours.rss20,
      reference: go.rss20,
      note: "target: at most 2× Go's; each client 1 MB each way, then held open",
    },
  ];
  for (const [key, split] of profiles) {
    rows.push({
      case: `proxy CPU in ${key.replace(": ", "load: ")}`,
      unit: "CPU s/100 MB",
      ours: split.ours ?? NaN,
      reference: split.go ?? NaN,
      note: "one perf-sampled transfer (self time); Go code: pion and its runtime, in our shim or Go's proxy",
    });
  }
  return rows;
};
