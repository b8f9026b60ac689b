/**
 * `deno task compile` (scripts/compile.ts), as far as it can run without
 * denort: the `deno compile` arguments, the include list (the WebRTC shim and
 * every Web Worker module), and the task itself with each kind of DENORT_BIN
 * (missing, the deno binary, a runtime that is not denort) and with none and no
 * network. The loader's embedded-copy path is tests/webrtc/loader_test.ts.
 */

import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import {
  compileArgs,
  DEFAULT_OUTPUT,
  ENTRY,
  explainCompileFailure,
  findWorkerModules,
  LIBRARY,
  parseArgs,
} from "../../scripts/compile.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `deno task compile --output DIR/snowflake` (in the repository) with `env`, optionally without a network (`unshare --net`). */
async function runTask(dir: string, env: Record<string, string>, offline = false) {
  const deno = Deno.execPath();
  const args = ["task", "compile", "--output", `${dir}/snowflake`]; // the README's command
  const output = await new Deno.Command(offline ? "unshare" : deno, {
    args: offline ? ["--net", deno, ...args] : args,
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  return { code: output.code, stderr, built: await exists(`${dir}/snowflake`) };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "compile-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("compile: the deno compile arguments embed the shim and the workers, with deno.json's unstable features", async () => {
  const workers = await findWorkerModules();
  const args = compileArgs({
    output: "out/sf",
    includes: [LIBRARY, ...workers],
    unstable: denoJson.unstable,
  });
  assert.equal(args[0], "compile");
  assert.ok(args.includes("--allow-all"));
  for (const name of denoJson.unstable) assert.ok(args.includes(`--unstable-${name}`), name);
  const included = args.flatMap((arg, i) => args[i - 1] === "--include" ? [arg] : []);
  assert.deepEqual(included, [LIBRARY, ...workers]);
  // The bridge's KCP workers (lib/server/): wherever they live, the scan finds them.
  assert.ok(included.some((path) => /^lib\/server\/.*kcp_worker\.ts$/.test(path)), included.join(" "));
  assert.deepEqual(args.slice(-3), ["--output", "out/sf", ENTRY]);
  assert.deepEqual(
    compileArgs({ output: "x", target: "aarch64-unknown-linux-gnu", includes: [], unstable: [] }).slice(2, 4),
    ["--target", "aarch64-unknown-linux-gnu"],
  );
});

Deno.test("compile: every new Worker(new URL(..., import.meta.url)) under lib/ is found, resolved from its file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/lib/a/b`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/lib/a/b/pool.ts`,
      `const w = new Worker(new URL("../worker_one.ts", import.meta.url).href, { type: "module" });\n` +
        `const v = new Worker(\n  new URL('./two.ts', import.meta.url), { type: "module" });\n` +
        `const again = new Worker(new URL("./two.ts", import.meta.url));\n`,
    );
    await Deno.writeTextFile(
      `${dir}/lib/a/plain.ts`,
      `export const x = new URL("./data.bin", import.meta.url);\n`,
    );
    assert.deepEqual(await findWorkerModules(`${dir}/`), ["lib/a/b/two.ts", "lib/a/worker_one.ts"]);
  });
  // The repository's own: each exists.
  for (const path of await findWorkerModules()) assert.ok(await exists(`${ROOT}${path}`), path);
});

Deno.test("compile: task arguments and a failed compile's explanation", () => {
  assert.deepEqual(parseArgs([]), { output: DEFAULT_OUTPUT });
  assert.deepEqual(parseArgs(["--output=a/b", "--target", "x86_64-unknown-linux-gnu"]), {
    output: "a/b",
    target: "x86_64-unknown-linux-gnu",
  });
  assert.throws(() => parseArgs(["--output"]), /--output needs a value/);
  assert.throws(() => parseArgs(["--bogus"]), /unknown argument --bogus/);
  assert.match(
    explainCompileFailure("error: Writing temporary file\n    3: dns error\n", undefined),
    /could not download denort.*DENORT_BIN/,
  );
  assert.match(
    explainCompileFailure("error: Module not found\n", "/opt/denort"),
    /^deno compile failed: error: Module not found/,
  );
});

Deno.test("compile: DENORT_BIN that is missing, or is the deno binary, stops the task with the reason", async () => {
  await withTempDir(async (dir) => {
    const missing = await runTask(dir, { DENORT_BIN: `${dir}/denort` });
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(
      missing.stderr,
      new RegExp(`compile: DENORT_BIN=${dir}/denort: no such file\\. Point DENORT_BIN at`),
    );
    const linked = `${dir}/deno-link`;
    await Deno.link(Deno.execPath(), linked).catch(() => Deno.copyFile(Deno.execPath(), linked));
    for (const deno of [Deno.execPath(), linked]) {
      const result = await runTask(dir, { DENORT_BIN: deno });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /is the deno binary, which cannot stand in for denort/);
      assert.equal(result.built, false);
    }
  });
});

Deno.test("compile: with a runtime that is not denort, deno compile embeds what we include, and the check refuses the result", async () => {
  await withTempDir(async (dir) => {
    // Any executable is accepted by deno compile as the runtime: the program is appended to it.
    await Deno.copyFile("/bin/true", `${dir}/not-denort`);
    await Deno.chmod(`${dir}/not-denort`, 0o755);
    const result = await runTask(dir, { DENORT_BIN: `${dir}/not-denort` });
    assert.equal(result.code, 1, result.stderr);
    // deno compile's listing of the embedded files: the shim, the worker and the CLI.
    assert.match(result.stderr, /build\/ffi\/libsnowflake_webrtc\.so \(\d/);
    assert.match(result.stderr, /kcp_worker\.ts/);
    assert.match(result.stderr, /cli\//);
    assert.match(result.stderr, /--version` printed "true \(GNU coreutils\)[^"]*", not "snowflake \d/);
    assert.match(result.stderr, /is not denort; the output was removed/);
    assert.equal(result.built, false);
  });
});

Deno.test("compile: without DENORT_BIN and without a network, the failed runtime download is explained", async () => {
  await withTempDir(async (dir) => {
    const result = await runTask(dir, {}, true);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /compile: deno compile could not download denort.*\(no network\?\)\. Point DENORT_BIN/,
    );
    assert.equal(result.built, false);
  });
});
