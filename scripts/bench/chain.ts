/**
 * Whole-chain bench (`deno task bench chain`): the all-ours chain (our client,
 * proxies, broker and server) against all of Go Snowflake that Debian has
 * (`snowflake-client` and `snowflake-proxy` 2.5.1, with our broker and server:
 * Go's are not packaged), in the same run, alternating, each in a network
 * namespace of its own (tests/support/chain_cell.ts; needs root). Per
 * direction: MB/s (first byte to last) and the CPU seconds every role used
 * (client, proxy, server, broker) per 100 MB. Medians of several runs: the
 * machine is shared, so MB/s is noisy; CPU per 100 MB much less so.
 * PERFORMANCE.md's Go reference: download 48–53 CPU s per 100 MB, upload 31–33
 * (with Go's server and broker). Targets (issue 16): at most 2/3 of Go's CPU,
 * at least 1.5× its MB/s.
 */

import { type CellResult, runChainCell } from "../../tests/support/chain_cell.ts";
import { availableImpls } from "../../tests/support/peers.ts";
import { type Bench, type BenchRow, median } from "./row.ts";

export const bench: Bench = async ({ quick }) => {
  const size = quick ? 5_000_000 : 20_000_000;
  const runs = quick ? 1 : 3;
  const { clients, proxies } = availableImpls();
  const ours = clients.includes("ours") && proxies.includes("ours");
  const results: { go: CellResult[]; ours: CellResult[] } = { go: [], ours: [] };
  for (let run = 0; run < runs; run++) {
    for (const impl of ours ? ["go", "ours"] as const : ["go"] as const) {
      const result = await runChainCell({
        client: impl,
        proxy: impl,
        down: size,
        up: size,
        killDown: 0,
        budgetMs: 180_000,
      });
      if (result.error) throw new Error(`${impl} chain: ${result.error}`);
      results[impl].push(result);
    }
  }
  const rows: BenchRow[] = [];
  const note = `${size / 1e6} MB, ${runs} runs; our broker and server in both; shared machine`;
  for (const direction of ["down", "up"] as const) {
    const figure = (impl: "go" | "ours", key: "mbPerSecond" | "cpuPer100MB") =>
      results[impl].length ? median(results[impl].map((r) => r[direction]![key])) : NaN;
    const label = direction === "down" ? "download (bridge → client)" : "upload (client → bridge)";
    rows.push({
      case: `whole chain ${label}, all ours vs Go client+proxy`,
      unit: "MB/s",
      ours: figure("ours", "mbPerSecond"),
      best: results.ours.length ? Math.max(...results.ours.map((r) => r[direction]!.mbPerSecond)) : undefined,
      reference: figure("go", "mbPerSecond"),
      note: ours ? `target ≥ 1.5× Go; ${note}` : "our client has not landed: Go only",
    });
    rows.push({
      case: `whole chain ${label}, CPU s per 100 MB (all roles)`,
      unit: "CPU s/100 MB",
      ours: figure("ours", "cpuPer100MB"),
      best: results.ours.length ? Math.min(...results.ours.map((r) => r[direction]!.cpuPer100MB)) : undefined,
      reference: figure("go", "cpuPer100MB"),
      note: `target ≤ 2/3 of Go; PERFORMANCE.md Go: ${direction === "down" ? "48–53" : "31–33"}`,
    });
    for (const role of ["client", "proxy", "server"]) {
      const byRole = (impl: "go" | "ours") =>
        results[impl].length ? median(results[impl].map((r) => r[direction]!.cpuByRole[role])) : NaN;
      rows.push({
        case: `  ${label}: ${role} CPU s per 100 MB`,
        unit: "CPU s/100 MB",
        ours: byRole("ours"),
        reference: byRole("go"),
        note: role === "server" ? "our server in both chains" : "",
      });
    }
  }
  return rows;
};
