/**
 * Runs `deno run -A cli/main.ts server …` as tor would: TOR_PT_* environment,
 * stdout read for the PT lines, stdin held open (closing it stops the server,
 * TOR_PT_EXIT_ON_STDIN_CLOSE=1). The bind port is 0 and read back from the
 * SMETHOD line. stderr (the log) is kept for assertions.
 */

import { formatAuthCookie } from "../../lib/pt/auth_cookie.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

export interface ServerProcess {
  child: Deno.ChildProcess;
  /** stdout lines so far (the PT protocol). */
  ptLines: string[];
  /** stderr text so far (the log). */
  log(): string;
  /** The WebSocket port from the SMETHOD line (0 if none). */
  port: number;
  /** Closes stdin (tor's way of saying stop) and waits for the exit code; kills after 10 s. */
  stop(): Promise<number>;
}

export interface ServerProcessOptions {
  /** Flags after `server` (default ["-disable-tls"]). */
  args?: string[];
  /** ORPort of the stand-in (plain), or ExtORPort with `cookie`. */
  orPort?: number;
  extOrPort?: number;
  cookie?: Uint8Array;
  /** TOR_PT_SERVER_TRANSPORT_OPTIONS. */
  transportOptions?: string;
  /** Replaces or removes (undefined) environment variables. */
  env?: Record<string, string | undefined>;
  /** Flags for `deno run` itself, e.g. `--v8-flags=--optimize-for-size`. */
  denoFlags?: string[];
}

async function collectLines(
  stream: ReadableStream<Uint8Array>,
  lines: string[],
  onLine: () => void,
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    const parts = pending.split("\n");
    pending = parts.pop()!;
    lines.push(...parts);
    onLine();
  }
  if (pending) lines.push(pending);
  onLine();
}

export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const stateDir = await Deno.makeTempDir();
  const env: Record<string, string> = {
    TOR_PT_MANAGED_TRANSPORT_VER: "1",
    TOR_PT_SERVER_TRANSPORTS: "snowflake",
    TOR_PT_SERVER_BINDADDR: "snowflake-127.0.0.1:0",
    TOR_PT_STATE_LOCATION: stateDir,
    TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
  };
  if (options.orPort) env.TOR_PT_ORPORT = `127.0.0.1:${options.orPort}`;
  if (options.extOrPort) {
    env.TOR_PT_EXTENDED_SERVER_PORT = `127.0.0.1:${options.extOrPort}`;
    const cookiePath = `${stateDir}/extended_orport_auth_cookie`;
    await Deno.writeFile(cookiePath, formatAuthCookie(options.cookie!));
    env.TOR_PT_AUTH_COOKIE_FILE = cookiePath;
  }
  if (options.transportOptions) env.TOR_PT_SERVER_TRANSPORT_OPTIONS = options.transportOptions;
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...(options.denoFlags ?? []), MAIN, "server", ...(options.args ?? ["-disable-tls"])],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const ptLines: string[] = [];
  const logLines: string[] = [];
  let notify = () => {};
  const changed = () => notify();
  const readers = Promise.all([
    collectLines(child.stdout, ptLines, changed),
    collectLines(child.stderr, logLines, changed),
  ]);
  const stdin = child.stdin.getWriter();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    changed();
    return s;
  });
  const deadline = Date.now() + 30_000;
  while (!exited && !ptLines.includes("SMETHODS DONE")) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `server did not start; stdout:\n${ptLines.join("\n")}\nstderr:\n${logLines.join("\n")}`,
      );
    }
    await new Promise<void>((resolve) => {
      notify = resolve;
      setTimeout(resolve, 100);
    });
  }
  const smethod = ptLines.find((line) => line.startsWith("SMETHOD snowflake "));
  const port = smethod ? Number(/:(\d+) /.exec(smethod)?.[1] ?? 0) : 0;
  return {
    child,
    ptLines,
    log: () => logLines.join("\n"),
    port,
    async stop() {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const { code } = await status;
      clearTimeout(timer);
      await readers;
      await Deno.remove(stateDir, { recursive: true });
      return code;
    },
  };
}
