/**
 * One line of `deno task bench`'s table, and helpers every bench module uses:
 * repeat a case, take min/median, read process CPU time.
 */

import process from "node:process";

export interface BenchRow {
  /** What was measured, e.g. "KCP+smux TS↔TS in memory, 0 % loss". */
  case: string;
  /** Unit of the figures, e.g. "MB/s", "CPU s/MB", "MB RSS". */
  unit: string;
  /** Our figure: median of the runs. */
  ours: number;
  /** Our best run (max for rates, min for costs); omitted for single-shot figures. */
  best?: number;
  /** The reference's figure (Go) from the same run, when there is one. */
  reference?: number;
  /** Anything a reader needs to interpret the row (target, sample count). */
  note?: string;
}

/** An area's bench: returns its rows. `quick` asks for a short run (used by tests of the benches). */
export type Bench = (options: { quick: boolean }) => Promise<BenchRow[]>;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** CPU seconds (user + system) this process has used so far. */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds used by a finished child process and its children, from `/proc/<pid>/stat` read before exit. */
export function processCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

/** Resident set size of `pid` (default: this process) in MB. */
export function rssMb(pid?: number): number {
  if (pid === undefined) return Deno.memoryUsage().rss / 1e6;
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1000 : NaN;
}
