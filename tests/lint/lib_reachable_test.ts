/**
 * lib/ holds only what ships: every module under lib/ must be reachable from
 * the executable (cli/main.ts and the Web Workers it starts) or be exported by
 * mod.ts on purpose. Test and bench support belongs in tests/support/ or
 * scripts/bench/. Reachability is `deno info --json` from those roots.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function reachableFrom(root: string): Promise<Set<string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const info: { modules: { specifier: string }[] } = JSON.parse(new TextDecoder().decode(output.stdout));
  const files = new Set<string>();
  for (const { specifier } of info.modules) {
    if (specifier.startsWith(ROOT.href)) files.add(specifier.slice(ROOT.href.length));
  }
  return files;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** Worker entry points: `new Worker(new URL("./x.ts", import.meta.url)` in lib/. */
async function workerEntries(files: string[]): Promise<string[]> {
  const entries: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    for (const match of text.matchAll(/new Worker\(\s*new URL\("([^"]+)",\s*import\.meta\.url\)/g)) {
      entries.push(new URL(match[1], new URL(file, ROOT)).href.slice(ROOT.href.length));
    }
  }
  return entries;
}

Deno.test("lib/: every module ships (reachable from cli/main.ts or its workers) or is exported by mod.ts", async () => {
  const lib: string[] = [];
  for await (const file of walk("lib")) lib.push(file);
  const roots = ["cli/main.ts", "mod.ts", ...await workerEntries(lib)];
  const reachable = new Set<string>();
  for (const root of roots) for (const file of await reachableFrom(root)) reachable.add(file);
  const unreachable = lib.filter((file) => !reachable.has(file)).sort();
  assert.deepEqual(unreachable, [], "move test or bench support to tests/support/ or scripts/bench/");
});
