/**
 * The sans-I/O lint rule (scripts/lint/sans_io.ts): a listed machine that
 * reads a clock, sets a timer or does I/O fails `deno lint`; clean code and
 * unlisted files pass; every listed file exists.
 */

import assert from "node:assert/strict";
import plugin from "../../scripts/lint/plugin.ts";
import { SANS_IO_FILES } from "../../scripts/lint/sans_io.ts";

const ROOT = new URL("../../", import.meta.url);
const MACHINE = "lib/kcp/arq.ts";

function lint(source: string, file = MACHINE): string[] {
  return Deno.lint.runPlugin(plugin, file, source).filter((d) => d.id === "snowflake/sans-io").map((d) =>
    d.message
  );
}

Deno.test("sans-io lint: clocks, timers and I/O in a listed machine are each reported", () => {
  const cases: [string, RegExp][] = [
    ["const t = Date.now();", /Date\.now\(\) reads the clock/],
    ["const t = performance.now();", /performance\.now\(\) reads the clock/],
    ["const d = new Date();", /new Date\(\) reads the clock/],
    ["const d = Date();", /Date\(\) reads the clock/],
    ['import { systemClock } from "../util/clock.ts";', /systemClock reads the clock/],
    ["setTimeout(() => {}, 10);", /setTimeout\(\) sets a timer/],
    ["const h = setInterval(() => {}, 10);", /setInterval\(\) sets a timer/],
    ["globalThis.setTimeout(() => {}, 1);", /setTimeout\(\) sets a timer/],
    ["queueMicrotask(() => {});", /queueMicrotask\(\) sets a timer/],
    ["await Deno.readFile('x');", /Deno\.readFile does I\/O/],
    ["const c = await Deno.connect({ port: 1 });", /Deno\.connect does I\/O/],
    ["await fetch('http://127.0.0.1/');", /fetch does I\/O/],
    ["new WebSocket('ws://127.0.0.1/');", /WebSocket does I\/O/],
    ['import { readFileSync } from "node:fs";', /importing node:fs \(I\/O\)/],
  ];
  for (const [source, message] of cases) {
    const found = lint(source);
    assert.equal(found.length, 1, `${source}: ${found.join("; ")}`);
    assert.match(found[0], message, source);
  }
});

Deno.test("sans-io lint: time as an argument, types from Deno, and unlisted files pass", () => {
  const clean = [
    "export function handleTimeout(now: number): number { return now + 10; }",
    "let addr: Deno.NetAddr | undefined;",
    "const o = { now: 1, setTimeout: 2 }; o.now; o.setTimeout;",
    'import { type Clock } from "../util/clock.ts";',
    "class M { pollTimeout(): number | undefined { return undefined; } }",
  ];
  for (const source of clean) assert.deepEqual(lint(source), [], source);
  assert.deepEqual(lint("setTimeout(() => {}, 1); Date.now();", "lib/kcp/session.ts"), []);
  // A folder entry covers the files under it.
  assert.equal(lint("Date.now();", "lib/messages/client_poll.ts").length, 1);
  assert.equal(lint("Date.now();", "/work/repo/lib/messages/nat.ts").length, 1);
});

Deno.test("sans-io lint: every listed file or folder exists (a rename must update the list)", async () => {
  for (const entry of SANS_IO_FILES) {
    const stat = await Deno.stat(new URL(entry, ROOT));
    assert.ok(entry.endsWith("/") ? stat.isDirectory : stat.isFile, entry);
  }
});

Deno.test("sans-io lint: `deno lint` with our config fails on a machine that reads the clock", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/lib/kcp`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ lint: { plugins: [new URL("scripts/lint/plugin.ts", ROOT).href] } }),
    );
    await Deno.writeTextFile(`${dir}/lib/kcp/arq.ts`, "export const startedAt = Date.now();\n");
    await Deno.writeTextFile(`${dir}/lib/kcp/session.ts`, "export const startedAt = Date.now();\n");
    const run = async (file: string) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["lint", "--json", file],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const report: { diagnostics: { code: string; filename: string }[] } = JSON.parse(
        new TextDecoder().decode(output.stdout),
      );
      return { code: output.code, codes: report.diagnostics.map((d) => d.code) };
    };
    assert.deepEqual(await run("lib/kcp/arq.ts"), { code: 1, codes: ["snowflake/sans-io"] });
    assert.deepEqual(await run("lib/kcp/session.ts"), { code: 0, codes: [] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
