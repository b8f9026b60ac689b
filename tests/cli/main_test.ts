import assert from "node:assert/strict";
import { run, VERSION } from "../../cli/main.ts";

/** Runs the dispatcher with console output captured. */
async function capture(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => out.push(parts.join(" "));
  console.error = (...parts: unknown[]) => err.push(parts.join(" "));
  try {
    const code = await run(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("cli: --help lists the working subcommands; --version prints the version", async () => {
  const help = await capture(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^\s+broker\s+/m);
  assert.match(help.out, /^\s+server\s+/m);
  assert.match(help.out, /^\s+proxy\s+/m);
  const version = await capture(["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.out, `snowflake ${VERSION}`);
});

Deno.test("cli: no subcommand or an unknown one exits 2 with the help", async () => {
  const none = await capture([]);
  assert.equal(none.code, 2);
  assert.match(none.out, /Usage: snowflake <subcommand>/);
  const unknown = await capture(["nope"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown subcommand "nope"/);
});

Deno.test("cli: a subcommand's -h is its own usage, exit 0", async () => {
  const help = await capture(["broker", "-h"]);
  assert.equal(help.code, 0);
  assert.match(help.err, /Usage of snowflake broker:/);
});
