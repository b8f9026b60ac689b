/**
 * Where a process's CPU goes, from `perf record` sampling it while some work
 * runs: each sample's self time by what it ran, sorted into a few kinds:
 * the kernel; Go code (pion, the WebRTC stack both proxies share, with Go's
 * runtime and crypto: our shim, or all of Go's proxy; both are stripped, so
 * by library, not by function); Deno, V8 and our JavaScript; the rest (libc,
 * vDSO). For `deno task bench proxy --perf`. Needs perf and the right to
 * sample the process (root here).
 */

/** Shares of the samples, in %, by kind, and the number of samples. */
export interface CpuProfile {
  samples: number;
  shares: Record<CpuKind, number>;
  /** The heaviest symbols, "12.3 % name". */
  top: string[];
}

export type CpuKind = "kernel" | "go" | "deno, v8, js" | "other";

const KINDS: CpuKind[] = ["kernel", "go", "deno, v8, js", "other"];
/** Libraries of Go code: our WebRTC shim, Debian's Go proxy and client. */
const GO_LIBRARIES = /^(libsnowflake_webrtc\.so|snowflake-proxy|snowflake-client)$/;

/** Whether perf can be run here. */
export async function perfAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("perf", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** Samples `pid` at 499 Hz while `work` runs, then sorts the samples. */
export async function profileWhile(pid: number, work: () => Promise<void>): Promise<CpuProfile> {
  const file = await Deno.makeTempFile({ suffix: ".perf.data" });
  const perf = new Deno.Command("perf", {
    args: ["record", "-q", "-F", "499", "-p", String(pid), "-o", file],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // perf attached
    await work();
  } finally {
    perf.kill("SIGINT");
    await perf.output();
  }
  try {
    const report = await new Deno.Command("perf", {
      args: ["report", "-i", file, "--stdio", "--sort", "dso,sym", "--percent-limit", "0"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return parseReport(new TextDecoder().decode(report.stdout));
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** Sorts `perf report --sort dso,sym` lines ("  12.34%  dso  [.] symbol") into kinds. */
export function parseReport(report: string): CpuProfile {
  const shares = Object.fromEntries(KINDS.map((kind) => [kind, 0])) as Record<CpuKind, number>;
  const top: { share: number; name: string }[] = [];
  for (const line of report.split("\n")) {
    const match = /^\s*([\d.]+)%\s+(.+?)\s+\[(.)\]\s+(.*?)\s*$/.exec(line);
    if (!match) continue;
    const share = Number(match[1]);
    const [, , dso, mode, symbol] = match;
    shares[kindOf(dso, mode, symbol)] += share;
    top.push({ share, name: `${symbol} (${dso})` });
  }
  top.sort((a, b) => b.share - a.share);
  const count = /^# Samples: ([\d.]+)(K|M)?/m.exec(report);
  const samples = count ? Number(count[1]) * (count[2] === "M" ? 1e6 : count[2] === "K" ? 1e3 : 1) : NaN;
  return { samples, shares, top: top.slice(0, 8).map((t) => `${t.share.toFixed(1)} % ${t.name}`) };
}

function kindOf(dso: string, mode: string, symbol: string): CpuKind {
  if (mode === "k" || dso.startsWith("[kernel")) return "kernel";
  if (GO_LIBRARIES.test(dso) || /^(github\.com\/pion\/|runtime\.|crypto\/)/.test(symbol)) return "go";
  if (dso === "deno" || dso.startsWith("[JIT]") || dso.startsWith("perf-") || dso === "[unknown]") {
    return "deno, v8, js";
  }
  return "other";
}
