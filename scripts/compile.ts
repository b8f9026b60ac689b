/**
 * `deno task compile [--output PATH] [--target TRIPLE]`: one executable of
 * cli/main.ts (default build/snowflake) with the WebRTC shim
 * (build/ffi/libsnowflake_webrtc.so) and every Web Worker module of lib/
 * embedded. At run time lib/webrtc/loader.ts finds the embedded shim and
 * loads it from a temporary copy (dlopen cannot map the binary's virtual files).
 *
 * `deno compile` joins the program to `denort`, Deno's runtime without the
 * toolchain, which it downloads from the network unless `DENORT_BIN` names a
 * local copy. The `deno` binary cannot stand in for it: a binary built on it
 * runs as plain `deno`, ignoring the embedded program. So this task refuses a
 * DENORT_BIN that is the deno binary, explains a failed download, and checks
 * the result by running `<output> --version`, which must print our version.
 */

import denoJson from "../deno.json" with { type: "json" };

const ROOT = new URL("../", import.meta.url).pathname;
export const ENTRY = "cli/main.ts";
export const LIBRARY = "build/ffi/libsnowflake_webrtc.so";
export const DEFAULT_OUTPUT = "build/snowflake";

/** Why the task stopped, in one paragraph for the operator. */
export class CompileError extends Error {
  override name = "CompileError";
}

export interface CompileOptions {
  output: string;
  target?: string;
  /** Files embedded beside the module graph, relative to the repository root. */
  includes: string[];
  /** deno.json's "unstable" features, passed as --unstable-<name>. */
  unstable: string[];
}

/**
 * The `deno compile` arguments. `--allow-all`: the shim is loaded through FFI,
 * which already gives the process everything, so narrower grants would only
 * look safer.
 */
export function compileArgs(options: CompileOptions): string[] {
  return [
    "compile",
    "--allow-all",
    ...options.unstable.map((name) => `--unstable-${name}`),
    ...options.includes.flatMap((path) => ["--include", path]),
    ...(options.target ? ["--target", options.target] : []),
    "--output",
    options.output,
    ENTRY,
  ];
}

/**
 * Modules started as Web Workers (`new Worker(new URL("./x.ts", import.meta.url)…)`)
 * under lib/: `deno compile` does not follow them from the module graph, so
 * each must be included. Paths relative to the repository root, sorted.
 */
export async function findWorkerModules(root = ROOT): Promise<string[]> {
  const found: string[] = [];
  const pattern = /new Worker\(\s*new URL\(\s*["'`]([^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g;
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(`${root}${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(`${root}${path}`);
        for (const match of text.matchAll(pattern)) {
          const resolved = new URL(match[1], `file:///${path}`).pathname.slice(1);
          if (!found.includes(resolved)) found.push(resolved);
        }
      }
    }
  };
  await walk("lib");
  return found.sort();
}

/**
 * Checks `DENORT_BIN` when set: it must be an executable file and not the deno
 * binary itself (same file, or a copy of it). Unset is fine: `deno compile`
 * then downloads the runtime.
 */
export async function checkDenortBin(denortBin: string | undefined, deno = Deno.execPath()): Promise<void> {
  if (denortBin === undefined || denortBin === "") return;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(denortBin);
  } catch {
    throw new CompileError(`DENORT_BIN=${denortBin}: no such file. ${WHERE_TO_GET_DENORT}`);
  }
  if (!info.isFile || ((info.mode ?? 0o111) & 0o111) === 0) {
    throw new CompileError(`DENORT_BIN=${denortBin} is not an executable file. ${WHERE_TO_GET_DENORT}`);
  }
  const denoInfo = await Deno.stat(deno);
  const sameFile = info.dev === denoInfo.dev && info.ino === denoInfo.ino;
  if (sameFile || (info.size === denoInfo.size && await sameContent(denortBin, deno))) {
    throw new CompileError(
      `DENORT_BIN=${denortBin} is the deno binary, which cannot stand in for denort (a binary built on it runs ` +
        `as plain deno). ${WHERE_TO_GET_DENORT}`,
    );
  }
}

const WHERE_TO_GET_DENORT = `Point DENORT_BIN at the denort of Deno ${Deno.version.deno} for the target ` +
  `(the release asset denort-<target>.zip, unzipped), or run \`deno task compile\` where \`deno compile\` can ` +
  `download it.`;

async function sameContent(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Turns a failed `deno compile`'s stderr into the operator's explanation. */
export function explainCompileFailure(stderr: string, denortBin: string | undefined): string {
  if (!denortBin && /dns error|failed to lookup address|error sending request|Download/i.test(stderr)) {
    return `deno compile could not download denort, the runtime it builds on (no network?). ${WHERE_TO_GET_DENORT}`;
  }
  const firstError = stderr.split("\n").find((line) => /error/i.test(line)) ?? stderr.trim().split("\n")[0];
  return `deno compile failed: ${firstError?.trim() ?? "(no output)"}`;
}

/** Parses `--output PATH`, `--target TRIPLE` (also as `--flag=value`). */
export function parseArgs(args: string[]): { output: string; target?: string } {
  const result: { output: string; target?: string } = { output: DEFAULT_OUTPUT };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v === "") throw new CompileError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--output" || flag === "-o") result.output = value();
    else if (flag === "--target") result.target = value();
    else {
      throw new CompileError(
        `unknown argument ${args[i]} (usage: deno task compile [--output PATH] [--target T])`,
      );
    }
  }
  return result;
}

async function run(command: string, args: string[], env?: Record<string, string>) {
  return await new Deno.Command(command, {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
}

/** What `path --version` prints (first line, trimmed), or the error running it. */
async function versionOf(path: string): Promise<string> {
  try {
    const output = await run(path, ["--version"]);
    return new TextDecoder().decode(output.stdout).trim().split("\n")[0];
  } catch (error) {
    return String(error);
  }
}

/** The whole task; returns the path of the checked executable. */
export async function compile(args: string[]): Promise<string> {
  const { output, target } = parseArgs(args);
  const denortBin = Deno.env.get("DENORT_BIN") || undefined;
  await checkDenortBin(denortBin);

  // The shim must exist and be current (returns at once when it is).
  const ffi = await run("bash", ["scripts/build-ffi.sh"]);
  if (!ffi.success) {
    throw new CompileError(`building ${LIBRARY} failed:\n${new TextDecoder().decode(ffi.stderr)}`);
  }
  const includes = [LIBRARY, ...await findWorkerModules()];
  const unstable = (denoJson as { unstable?: string[] }).unstable ?? [];
  const compiled = await run(Deno.execPath(), compileArgs({ output, target, includes, unstable }), {
    NO_COLOR: "1", // plain text to explain and to show
  });
  const stderr = new TextDecoder().decode(compiled.stderr);
  if (!compiled.success) throw new CompileError(explainCompileFailure(stderr, denortBin));
  console.error(stderr.trimEnd());

  if (target === undefined) {
    // A runtime that is not denort builds a binary that ignores the program: catch it here.
    const absolute = output.startsWith("/") ? output : `${ROOT}${output}`;
    const printed = await versionOf(absolute);
    if (printed !== `snowflake ${denoJson.version}`) {
      await Deno.remove(absolute).catch(() => {});
      throw new CompileError(
        `${output} built, but \`${output} --version\` printed ${JSON.stringify(printed.slice(0, 80))}, ` +
          `not "snowflake ${denoJson.version}": the runtime${
            denortBin ? ` DENORT_BIN=${denortBin}` : ""
          } is not ` +
          `denort; the output was removed. ${WHERE_TO_GET_DENORT}`,
      );
    }
  }
  return output;
}

if (import.meta.main) {
  try {
    const output = await compile(Deno.args);
    console.error(`compile: ${output} (run \`${output} --help\`)`);
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    console.error(`compile: ${error.message}`);
    Deno.exit(1);
  }
}
