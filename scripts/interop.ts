/**
 * `deno task interop [--size MB]`: the interop matrix. Each of {Debian's
 * `snowflake-client` 2.5.1, ours} × {Debian's `snowflake-proxy` 2.5.1, ours},
 * through our broker and server in a network namespace of its own
 * (tests/support/chain_cell.ts): `--size` MB (default 10) down, the same up,
 * then a download during which the busy proxy is SIGKILLed. Prints one table:
 * MB/s and whole-chain CPU seconds per 100 MB each way, the longest stall
 * after the kill, and whether every byte arrived intact. Needs root.
 * Exits 1 when a cell failed. The machine may be shared: MB/s is noisy,
 * CPU per 100 MB much less so.
 */

import { type CellResult, runChainCell } from "../tests/support/chain_cell.ts";
import { availableImpls } from "../tests/support/peers.ts";

const sizeFlag = Deno.args.indexOf("--size");
const mb = sizeFlag >= 0 ? Number(Deno.args[sizeFlag + 1]) : 10;
if (!(mb > 0)) {
  console.error("usage: deno task interop [--size MB]");
  Deno.exit(2);
}
const size = Math.round(mb * 1e6);

const { clients, proxies } = availableImpls();
const results: CellResult[] = [];
for (const client of ["go", "ours"] as const) {
  for (const proxy of ["go", "ours"] as const) {
    if (!clients.includes(client) || !proxies.includes(proxy)) {
      results.push({ client, proxy, error: "not built yet (no cli subcommand)" });
      continue;
    }
    console.error(`interop: ${client} client × ${proxy} proxy ...`);
    results.push(
      await runChainCell({ client, proxy, down: size, up: size, killDown: size / 2, budgetMs: 180_000 }),
    );
  }
}

const name = (impl: string, role: string) => impl === "go" ? `Go ${role} 2.5.1` : `our ${role}`;
const header = [
  "client",
  "proxy",
  "down MB/s",
  "down CPU s/100 MB",
  "up MB/s",
  "up CPU s/100 MB",
  "stall after kill (s)",
  "intact",
];
const rows = results.map((r) => [
  name(r.client, "client"),
  name(r.proxy, "proxy"),
  String(r.down?.mbPerSecond ?? ""),
  String(r.down?.cpuPer100MB ?? ""),
  String(r.up?.mbPerSecond ?? ""),
  String(r.up?.cpuPer100MB ?? ""),
  r.kill ? (r.kill.stallMs / 1000).toFixed(1) : "",
  r.error ? `no: ${r.error.split("\n")[0].slice(0, 60)}` : "yes",
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
console.log(
  `interop matrix: ${mb} MB down, ${mb} MB up, ${mb / 2} MB down with the busy proxy killed a quarter in`,
);
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const row of rows) console.log(line(row));
for (const r of results.filter((r) => r.error && !r.error.startsWith("not built"))) {
  console.error(`\n${name(r.client, "client")} × ${name(r.proxy, "proxy")}:\n${r.error}`);
}
Deno.exit(results.some((r) => r.error && !r.error.startsWith("not built")) ? 1 : 0);
