/**
 * Test and demo helper: a subprocess (optionally inside a network namespace,
 * `ip netns exec NAME`) whose stdout and stderr are kept as text, with a wait
 * for a pattern in them and an orderly stop (stdin closed, SIGTERM, SIGKILL
 * after 5 s). What is kept is bounded: the last 1 MiB of each stream.
 */

const REPO = new URL("../../", import.meta.url).pathname;
const KEEP_CHARS = 1 << 20;

export interface SpawnOptions {
  /** Run inside this network namespace (needs root). */
  netns?: string;
  env?: Record<string, string>;
  /** Pipe stdin (closed first by stop(): a managed PT exits on it). */
  stdin?: boolean;
  cwd?: string;
}

export interface Proc {
  child: Deno.ChildProcess;
  pid: number;
  /** What the process wrote so far (the last 1 MiB). */
  out(): string;
  err(): string;
  /** Resolves when `pattern` appears in stdout or stderr; rejects when the process exits first or at `deadline`. */
  waitFor(pattern: RegExp, deadline: number): Promise<RegExpExecArray>;
  /** The exit status, once it has exited. */
  status: Promise<Deno.CommandStatus>;
  /** Sends `signal` (SIGKILL to kill a proxy mid-transfer); ignores a process already gone. */
  kill(signal?: Deno.Signal): void;
  /** Closes stdin if piped, then SIGTERM, then SIGKILL after 5 s; waits for the readers. */
  stop(): Promise<void>;
}

export function spawnProcess(cmd: string, args: string[], options: SpawnOptions = {}): Proc {
  const [program, argv] = options.netns
    ? ["ip", ["netns", "exec", options.netns, cmd, ...args]]
    : [cmd, args];
  const child = new Deno.Command(program, {
    args: argv,
    cwd: options.cwd ?? REPO,
    env: options.env,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { out: "", err: "" };
  let changed = () => {};
  const pump = (stream: ReadableStream<Uint8Array>, key: "out" | "err") =>
    (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        text[key] += chunk;
        if (text[key].length > 2 * KEEP_CHARS) text[key] = text[key].slice(-KEEP_CHARS);
        changed();
      }
    })().catch(() => {});
  const readers = Promise.all([pump(child.stdout, "out"), pump(child.stderr, "err")]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    changed();
    return s;
  });
  const kill = (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  };
  return {
    child,
    pid: child.pid,
    out: () => text.out,
    err: () => text.err,
    status,
    kill,
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
      if (options.stdin) await child.stdin.close().catch(() => {});
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 5_000);
      await status;
      clearTimeout(timer);
      await readers;
    },
  };
}
