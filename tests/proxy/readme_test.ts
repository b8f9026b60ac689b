/**
 * The README's "Running a proxy" section does what it says: every command in
 * its `sh` blocks runs as written (from the checkout, `~` a fresh directory),
 * each proxy until it has started and, for `-metrics`, until the `curl` line
 * reads its metrics; then SIGTERM must end it with status 0. The systemd
 * unit in its `ini` block passes `systemd-analyze verify` (with a stand-in at
 * its ExecStart path), its sandbox rates below 3 ("OK") in `systemd-analyze
 * security`, and its ExecStart flags run as a proxy command line too.
 * `systemd-analyze` is Debian's `systemd` package, in scripts/setup.sh's list.
 */

import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname;
const SECTION = "## Running a proxy (volunteer operators)";

function section(): string {
  const readme = Deno.readTextFileSync(`${REPO}README.md`);
  const start = readme.indexOf(SECTION);
  assert.ok(start >= 0, `README has no "${SECTION}"`);
  const end = readme.indexOf("\n## ", start + SECTION.length);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The fenced blocks of `lang` in `text`. */
function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

/** The commands of the sh blocks: comment and blank lines dropped, `\` continuations joined. */
function commands(text: string): string[] {
  return blocks(text, "sh").flatMap((block) =>
    block.replace(/\\\n\s*/g, " ").split("\n").map((line) => line.trim()).filter((line) =>
      line !== "" && !line.startsWith("#")
    )
  );
}

const decoder = new TextDecoder();

/** A command run by bash in the checkout, with its stderr collected as it comes. */
function spawn(command: string, home: string) {
  const child = new Deno.Command("bash", {
    args: ["-c", `exec ${command}`],
    cwd: REPO,
    env: { HOME: home },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const stdout = new Response(child.stdout).text();
  return {
    child,
    stderr: () => stderr,
    async until(pattern: RegExp, ms: number): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pattern.test(stderr) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.match(stderr, pattern, `${command}: not seen within ${ms} ms`);
    },
    async stop(): Promise<{ code: number; stdout: string; stderr: string }> {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const { code } = await child.status;
      await stderrDone;
      return { code, stdout: await stdout, stderr };
    },
  };
}

/** Starts a proxy command line, runs `then` while it runs, stops it and checks a clean exit. */
async function runProxyCommand(command: string, home: string, then: () => Promise<void>): Promise<string> {
  const proxy = spawn(command, home);
  try {
    await proxy.until(/ Proxy starting$/m, 60_000);
    await then();
  } finally {
    const { code, stderr } = await proxy.stop();
    assert.equal(code, 0, `${command}: exit ${code}\n${stderr}`);
    assert.match(stderr, /caught signal "SIGTERM", exiting/, command);
  }
  return proxy.stderr();
}

async function runToEnd(command: string, home: string): Promise<string> {
  const output = await new Deno.Command("bash", {
    args: ["-c", command],
    cwd: REPO,
    env: { HOME: home },
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(output.code, 0, `${command}: ${decoder.decode(output.stderr)}`);
  return decoder.decode(output.stdout);
}

Deno.test("README proxy section: every command runs as written", async () => {
  const home = await Deno.makeTempDir();
  try {
    const lines = commands(section());
    const proxies = lines.filter((line) => line.startsWith("deno run -A cli/main.ts proxy"));
    assert.ok(proxies.length >= 3, lines.join("\n"));
    let ran = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.startsWith("curl ")) continue; // run by the proxy command before it
      assert.ok(proxies.includes(line), `a command the test does not know how to run: ${line}`);
      const follow = lines.slice(i + 1).filter((next, j, rest) =>
        next.startsWith("curl ") && rest.slice(0, j).every((l) => l.startsWith("curl "))
      );
      await runProxyCommand(line, home, async () => {
        for (const curl of follow) {
          const port = /:(\d+)\//.exec(curl)?.[1];
          if (port) await waitForPort(Number(port));
          const text = await runToEnd(curl, home);
          assert.match(text, /^tor_snowflake_proxy_connections_total 0$/m, curl);
          assert.match(text, /^tor_snowflake_proxy_capacity \d+$/m, curl);
          ran++;
        }
      });
      ran++;
      const log = /-log (\S+)/.exec(line)?.[1];
      if (log) {
        const path = log.replace(/^~/, home);
        assert.match(await Deno.readTextFile(path), / Proxy starting$/m, `${line}: ${path}`);
      }
    }
    assert.equal(ran, lines.length);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/** Waits (bounded) until something listens on 127.0.0.1:`port`. */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}

const UNIT_NAME = "snowflake-proxy.service";

/** An image root for `systemd-analyze --root`: the system's units, the unit, and a stand-in binary. */
async function unitRoot(unit: string): Promise<string> {
  const root = await Deno.makeTempDir();
  const exec = /^ExecStart=(\S+)/m.exec(unit)?.[1];
  assert.ok(exec, "the unit has no ExecStart");
  await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
  const systemUnits = Deno.statSync("/usr/lib/systemd/system").isDirectory
    ? "/usr/lib/systemd/system"
    : "/lib/systemd/system";
  const copy = await new Deno.Command("cp", { args: ["-a", systemUnits, `${root}/usr/lib/systemd/`] })
    .output();
  assert.equal(copy.code, 0, decoder.decode(copy.stderr));
  await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/systemd/system/${UNIT_NAME}`, unit);
  await Deno.mkdir(`${root}${exec.slice(0, exec.lastIndexOf("/"))}`, { recursive: true });
  await Deno.writeTextFile(`${root}${exec}`, "#!/bin/sh\n", { mode: 0o755 });
  return root;
}

async function systemdAnalyze(args: string[]): Promise<{ code: number; out: string }> {
  let output;
  try {
    output = await new Deno.Command("systemd-analyze", { args, stdin: "null" }).output();
  } catch (error) {
    throw new Error(
      `systemd-analyze (Debian's systemd package; bash scripts/setup.sh installs it): ${error}`,
    );
  }
  return { code: output.code, out: decoder.decode(output.stdout) + decoder.decode(output.stderr) };
}

async function verify(unit: string): Promise<{ code: number; out: string }> {
  const root = await unitRoot(unit);
  try {
    return await systemdAnalyze(["verify", `--root=${root}`, UNIT_NAME]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("README proxy section: the systemd unit verifies, is sandboxed, and its ExecStart flags run", async () => {
  const units = blocks(section(), "ini");
  assert.equal(units.length, 1);
  const unit = units[0];
  const ok = await verify(unit);
  assert.equal(ok.code, 0, ok.out);
  assert.equal(ok.out.trim(), "", ok.out);
  // The check can fail: a misspelt value and an unknown directive are both reported.
  const typo = await verify(unit.replace("ProtectSystem=strict", "ProtectSystem=strickt"));
  assert.match(typo.out, /strickt/, typo.out);
  const unknown = await verify(unit.replace("[Service]\n", "[Service]\nProtectEverything=yes\n"));
  assert.match(unknown.out, /ProtectEverything/, unknown.out);

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/${UNIT_NAME}`, unit);
    const security = await systemdAnalyze(["security", "--offline=true", `${dir}/${UNIT_NAME}`]);
    const level = Number(/Overall exposure level for \S+: (\d+\.\d+)/.exec(security.out)?.[1]);
    assert.ok(level < 3, `exposure ${level}\n${security.out}`);
    const readme = section();
    assert.ok(readme.includes(`rates it ${level.toFixed(1)}`), `README should quote exposure ${level}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const exec = /^ExecStart=(\S+) (proxy.*)$/m.exec(unit);
  assert.ok(exec, "ExecStart is not `<binary> proxy …`");
  const home = await Deno.makeTempDir();
  try {
    await runProxyCommand(`deno run -A cli/main.ts ${exec[2]}`, home, async () => {
      const port = /-metrics-port[ =](\d+)/.exec(exec[2])?.[1] ?? "9999";
      if (/-metrics\b/.test(exec[2])) await waitForPort(Number(port));
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
