/**
 * The README's demo command, `deno task demo`, run as a user runs it (short
 * file): it must end with exit status 0, the file intact after the busy proxy
 * was killed, and nothing it started left running. Also `--with-tor` (Debian's
 * tor; no root needed either).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

async function runDemo(args: string[], timeoutMs: number): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("deno", {
    args: ["task", "demo", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const output = await child.output();
  clearTimeout(timer);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, out: `${decode(output.stdout)}\n${decode(output.stderr)}` };
}

/** Processes still running one of the demo's peers (scripts/demo/peer.ts). */
async function leftoverPeers(): Promise<string[]> {
  const left: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    if (cmdline.includes(`${ROOT}scripts/demo/peer.ts`)) {
      left.push(`${entry.name}: ${cmdline.replaceAll("\0", " ")}`);
    }
  }
  return left;
}

function assertReport(out: string): void {
  assert.match(out, /^ {2}sha256 {11}match$/m, out);
  assert.match(out, /proxy [A-Z] SIGKILLed at [\d.]+ MB; starting a fresh proxy/, out);
  assert.match(out, /^ {2}proxy killed at {2}[\d.]+ MB$/m, out);
  assert.match(out, /^ {2}longest stall {4}[\d.]+ s$/m, out);
  assert.match(out, /^ {2}rate {13}[\d.]+ MB\/s/m, out);
  assert.match(out, /^demo: everything stopped$/m, out);
}

Deno.test("demo: deno task demo downloads through a proxy kill, reports, and stops everything", async () => {
  const { code, out } = await runDemo(["--size", "4"], 150_000);
  assert.equal(code, 0, out);
  assertReport(out);
  assert.match(out, /^ {2}bytes received {3}4000000 of 4000000$/m, out);
  assert.deepEqual(await leftoverPeers(), []);
});

Deno.test("demo: --with-tor bootstraps a private Tor network through Snowflake and downloads through it", async () => {
  const { code, out } = await runDemo(["--with-tor", "--size", "2"], 240_000);
  assert.equal(code, 0, out);
  assert.match(out, /client tor bootstrapped to 100 % through Snowflake in [\d.]+ s/, out);
  assertReport(out);
  assert.match(out, /^ {2}bytes received {3}2000000 of 2000000$/m, out);
  assert.deepEqual(await leftoverPeers(), []);
});

Deno.test("demo: a bad argument is a usage line and exit status 2", async () => {
  const { code, out } = await runDemo(["--bogus"], 30_000);
  assert.equal(code, 2, out);
  assert.match(out, /usage: deno task demo \[--size MB\] \[--with-tor\]/);
});
