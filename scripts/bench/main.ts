/**
 * `deno task bench`: runs every bench module in this folder (each exports
 * `bench: Bench`) and prints one table: case, our median, our best, the
 * reference's figure from the same run, and the ratio.
 *
 * `deno task bench [area...]` runs only the named modules; `--quick` shortens runs.
 */

import type { Bench, BenchRow } from "./row.ts";

const args = Deno.args.filter((arg) => !arg.startsWith("--"));
const quick = Deno.args.includes("--quick");
const here = new URL(".", import.meta.url);

const modules: string[] = [];
for (const entry of Deno.readDirSync(here)) {
  if (!entry.isFile || !entry.name.endsWith(".ts") || ["main.ts", "row.ts"].includes(entry.name)) continue;
  const area = entry.name.replace(/\.ts$/, "");
  if (args.length === 0 || args.includes(area)) modules.push(area);
}
modules.sort();

const rows: (BenchRow & { area: string })[] = [];
for (const area of modules) {
  console.error(`bench: ${area} ...`);
  const { bench } = await import(new URL(`${area}.ts`, here).href) as { bench: Bench };
  try {
    for (const row of await bench({ quick })) rows.push({ area, ...row });
  } catch (error) {
    console.error(`bench: ${area} failed: ${error instanceof Error ? error.stack : error}`);
    rows.push({ area, case: "(failed)", unit: "", ours: NaN, note: String(error) });
  }
}

const fmt = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? "" : Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
const header = ["area", "case", "unit", "ours (median)", "ours (best)", "reference", "ours/ref", "note"];
const table = rows.map((row) => [
  row.area,
  row.case,
  row.unit,
  fmt(row.ours),
  fmt(row.best),
  fmt(row.reference),
  row.reference ? fmt(row.ours / row.reference) : "",
  row.note ?? "",
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of table) console.log(line(r));
