/**
 * `cli/main.ts client` as tor runs it (managed mode, SNOWFLAKE-PROTOCOL.md
 * §9): the protocol lines on stdout, the refusals (TOR_PT_PROXY, unknown
 * method, bad environment), exit on stdin close; and its flags: Go
 * snowflake-client 2.5.1's names and defaults.
 */

import assert from "node:assert/strict";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the client with `env` (not inherited) and stdin piped; closes stdin after `holdMs`, waits for the exit. */
async function runManaged(env: Record<string, string>, args: string[] = [], holdMs = 0): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "client", ...args],
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/root", ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream());
  let out = "";
  const reading = (async () => {
    for await (const chunk of stdout) out += chunk;
  })();
  const err = new Response(child.stderr).text();
  if (holdMs > 0) {
    const until = Date.now() + 30_000;
    while (!/CMETHODS DONE/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, holdMs));
  }
  await child.stdin.close();
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const status = await child.status;
  clearTimeout(killer);
  await reading;
  return { code: status.code, stdout: out, stderr: await err };
}

const MANAGED = {
  TOR_PT_MANAGED_TRANSPORT_VER: "1",
  TOR_PT_CLIENT_TRANSPORTS: "snowflake,obfs4",
  TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
};

Deno.test("client cli: managed mode writes VERSION, STATUS, CMETHOD for snowflake, CMETHOD-ERROR for others, CMETHODS DONE; exits on stdin close", async () => {
  const state = await Deno.makeTempDir();
  try {
    const run = await runManaged({ ...MANAGED, TOR_PT_STATE_LOCATION: state }, [], 200);
    const lines = run.stdout.trim().split("\n");
    assert.equal(lines[0], "VERSION 1", run.stdout);
    assert.match(run.stdout, /^STATUS TYPE=version IMPLEMENTATION="snowflake" VERSION="[^"]+"$/m);
    assert.match(run.stdout, /^CMETHOD snowflake socks5 127\.0\.0\.1:\d+$/m);
    assert.match(run.stdout, /^CMETHOD-ERROR obfs4 no such method$/m);
    assert.equal(lines[lines.length - 1], "CMETHODS DONE");
    assert.equal(run.code, 0, run.stderr);
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("client cli: TOR_PT_PROXY is refused with PROXY-ERROR; a missing variable with ENV-ERROR", async () => {
  const proxied = await runManaged({ ...MANAGED, TOR_PT_PROXY: "socks5://127.0.0.1:9050" });
  assert.match(proxied.stdout, /^PROXY-ERROR proxy is not supported$/m);
  assert.equal(proxied.code, 1);
  const noTransports = await runManaged({ TOR_PT_MANAGED_TRANSPORT_VER: "1" });
  assert.match(noTransports.stdout, /^ENV-ERROR .*TOR_PT_CLIENT_TRANSPORTS/m);
  assert.equal(noTransports.code, 1);
  const badVersion = await runManaged({ ...MANAGED, TOR_PT_MANAGED_TRANSPORT_VER: "2" });
  assert.match(badVersion.stdout, /^VERSION-ERROR no-version$/m);
});

Deno.test("client cli: -h lists Go snowflake-client 2.5.1's flags with its defaults; -version", async () => {
  const help = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, "client", "-h"] })
    .output();
  const text = new TextDecoder().decode(help.stderr) + new TextDecoder().decode(help.stdout);
  for (
    const name of [
      "ampcache",
      "front",
      "ice",
      "keep-local-addresses",
      "log",
      "log-to-state-dir",
      "max",
      "unsafe-logging",
      "url",
      "version",
    ]
  ) assert.match(text, new RegExp(`^  -${name}\\b`, "m"), name);
  // Ours defaults to 2 proxies at once (Go: 1), and the help says so.
  assert.match(text, /-max int\n[^]*?Go's to 1[^]*?\(default 2\)/);
  assert.match(text, /^ {2}-padding\b/m);
  const badPadding = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "client", "-padding", "5"],
    stdin: "null",
  }).output();
  assert.equal(badPadding.code, 2);
  assert.match(new TextDecoder().decode(badPadding.stderr), /-padding 5: must be 0 \(off\) or 10–60000 ms/);
  const version = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, "client", "-version"] })
    .output();
  assert.match(new TextDecoder().decode(version.stderr), /^snowflake-client \d/);
  // Go's old spellings still parse.
  const state = await Deno.makeTempDir();
  try {
    const run = await runManaged(
      { ...MANAGED, TOR_PT_STATE_LOCATION: state },
      ["-keepLocalAddresses", "-logToStateDir", "-log", "c.log", "--max=3"],
      100,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok((await Deno.stat(`${state}/c.log`)).isFile);
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});
