/**
 * Test helper: subprocesses inside a test's network namespace
 * (tests/util/netns.ts), as `ip netns exec NAME cmd ...`, with their stdout
 * and stderr kept as text, a wait for a pattern in them, and a stop that
 * always reaps them. `ip netns exec` execs the command, so `child.pid` is the
 * command's own pid.
 */

const REPO = new URL("../../", import.meta.url).pathname;

/** A subprocess in the namespace whose stdout and stderr are kept as text. */
export interface Proc {
  child: Deno.ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves when `pattern` appears in stdout or stderr (or rejects when the process exits first). */
  waitFor(pattern: RegExp, deadline: number): Promise<RegExpExecArray>;
  /** Closes stdin if piped, then SIGTERM, then SIGKILL after 5 s; waits for the readers. */
  stop(): Promise<void>;
}

export function spawnIn(netns: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const stdinPiped = Object.keys(env).length > 0;
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", netns, cmd, ...args],
    cwd: REPO,
    env,
    stdin: stdinPiped ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { out: "", err: "" };
  let changed = () => {};
  const pump = (stream: ReadableStream<Uint8Array>, key: "out" | "err") =>
    (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        text[key] += chunk;
        changed();
      }
    })();
  const readers = Promise.all([pump(child.stdout, "out"), pump(child.stderr, "err")]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    changed();
    return s;
  });
  return {
    child,
    out: () => text.out,
    err: () => text.err,
    async waitFor(pattern, deadline) {
      while (true) {
        const match = pattern.exec(text.out) ?? pattern.exec(text.err);
        if (match) return match;
        if (exited) throw new Error(`${cmd} exited before ${pattern}:\n${text.out}\n${text.err}`);
        if (Date.now() > deadline) {
          throw new Error(`${cmd}: no ${pattern} in time:\n${text.out}\n${text.err}`);
        }
        await new Promise<void>((resolve) => {
          changed = resolve;
          setTimeout(resolve, 200);
        });
      }
    },
    async stop() {
      if (stdinPiped) await child.stdin.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const kill = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5_000);
      await status;
      clearTimeout(kill);
      await readers;
    },
  };
}
