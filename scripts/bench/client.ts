/**
 * `deno task bench client`: our client against Debian's `snowflake-client`
 * 2.5.1 on the same path in the same run: tor's side of SOCKS5 → client →
 * Debian's `snowflake-proxy` → our broker and server → a stand-in ORPort, all
 * in a network namespace (tests/support/client_chain.ts). For each client, a
 * fresh deployment per run, and in each run:
 * - download, then upload, of SIZE bytes on their own SOCKS connections: MB/s
 *   (first byte to last), time to first byte (SOCKS connect to the first
 *   downstream byte), and the client's CPU seconds per 100 MB (from
 *   /proc/<pid>/stat around the transfer);
 * - a download during which the proxy carrying it is SIGKILLed (found by its
 *   CPU use; a second one waits at the broker): the longest gap in the
 *   downstream (the stall), max 1;
 * - the client's peak RSS (VmHWM) at the end.
 * Rows give medians over the runs (and the best run). The machine is shared:
 * MB/s and stall are noisy; CPU per 100 MB is the steadier figure.
 */

import { type ClientChain, type ClientKind, startClientChain } from "../../tests/support/client_chain.ts";
import { type Bench, type BenchRow, median, processCpuSeconds } from "./row.ts";

interface RunFigures {
  downMbps: number;
  upMbps: number;
  ttfbMs: number;
  cpuPer100MbDown: number;
  cpuPer100MbUp: number;
  stallMs: number;
  peakRssMb: number;
}

function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return match ? Number(match[1]) / 1000 : NaN;
}

/** One transfer on a fresh SOCKS connection; returns the result and the client's CPU seconds over it. */
async function measured(chain: ClientChain, up: number, down: number) {
  const pid = chain.client.child.pid;
  const before = processCpuSeconds(pid);
  const result = await chain.transfer(up, down, 120_000).result;
  const cpu = processCpuSeconds(pid) - before;
  if (result.error) throw new Error(`${result.error}\n${await chain.logs()}`);
  if (result.upSha256 !== result.upSentSha256 || result.downSha256 !== result.downSentSha256) {
    throw new Error("bytes corrupted on the way");
  }
  return { result, cpu };
}

async function run(kind: ClientKind, size: number): Promise<RunFigures> {
  const chain = await startClientChain({ client: kind, proxies: 2 });
  try {
    await chain.waitForIdleProxies(2, Date.now() + 30_000);
    const down = await measured(chain, 0, size);
    const up = await measured(chain, size, 0);
    // The stall: both proxies wait at the broker; the one carrying the download is SIGKILLed at a quarter.
    await chain.waitForIdleProxies(2, Date.now() + 30_000);
    const stall = chain.transfer(0, size, 120_000);
    await stall.downReached(size / 4);
    await chain.killProxy(await chain.busyProxy());
    const stalled = await stall.result;
    if (stalled.error) throw new Error(`${stalled.error}\n${await chain.logs()}`);
    return {
      downMbps: size / 1e6 / (down.result.downMs / 1000),
      upMbps: size / 1e6 / (up.result.upMs / 1000),
      ttfbMs: down.result.ttfbMs,
      cpuPer100MbDown: down.cpu * 1e8 / size,
      cpuPer100MbUp: up.cpu * 1e8 / size,
      stallMs: stalled.downMaxGapMs,
      peakRssMb: peakRssMb(chain.client.child.pid),
    };
  } finally {
    await chain.close();
  }
}

export const bench: Bench = async ({ quick }) => {
  const size = quick ? 20e6 : 50e6;
  const runs = quick ? 1 : 3;
  const figures: Record<ClientKind, RunFigures[]> = { ours: [], go: [] };
  for (let i = 0; i < runs; i++) {
    for (const kind of ["ours", "go"] as const) {
      console.error(`bench client: ${kind} run ${i + 1}/${runs}`);
      figures[kind].push(await run(kind, size));
    }
  }
  const row = (
    name: string,
    unit: string,
    key: keyof RunFigures,
    higherIsBetter: boolean,
    note: string,
  ): BenchRow => {
    const ours = figures.ours.map((f) => f[key]);
    return {
      case: name,
      unit,
      ours: median(ours),
      best: higherIsBetter ? Math.max(...ours) : Math.min(...ours),
      reference: median(figures.go.map((f) => f[key])),
      note: `${note}; ${runs} run(s), shared machine`,
    };
  };
  const mb = size / 1e6;
  return [
    row(`client download ${mb} MB via Debian proxy`, "MB/s", "downMbps", true, "target ≥ 1.5× Go"),
    row(`client upload ${mb} MB via Debian proxy`, "MB/s", "upMbps", true, "target ≥ 1.5× Go"),
    row("client CPU, download", "CPU s/100 MB", "cpuPer100MbDown", false, "target ≤ ½ Go"),
    row("client CPU, upload", "CPU s/100 MB", "cpuPer100MbUp", false, "target ≤ ½ Go"),
    row("client time to first byte", "ms", "ttfbMs", false, "SOCKS connect → first byte, fresh session"),
    row("client stall after busy proxy SIGKILL, max 1", "ms", "stallMs", false, "target ≤ 8000"),
    row("client peak RSS", "MB", "peakRssMb", false, "VmHWM after all phases"),
  ];
};
