/**
 * Runs a KCP+smux bulk-transfer peer as a subprocess: the Go peer
 * (tests/interop/kcpsmux/peer.go, built by scripts/build-interop.sh into
 * build/interop/) or ours (ts_peer.ts), which share flags and output. Start
 * it, learn its UDP address (server mode), collect its JSON report, and read
 * its CPU time from /proc/<pid>/stat at its "ready"/"listening" line and at its
 * report (it waits for stdin to close before exiting), so the figure counts the
 * transfer and not the start-up.
 */

import { processCpuSeconds } from "../../../scripts/bench/row.ts";
import type { TransferReport } from "./transfer.ts";

const root = new URL("../../../", import.meta.url);
export const GO_PEER_BINARY = new URL("build/interop/kcpsmux-peer", root).pathname;
const TS_PEER = new URL("tests/interop/kcpsmux/ts_peer.ts", root).pathname;

/** A peer's report: a TransferReport plus what only the peer knows. */
export interface PeerReport extends TransferReport {
  mode: string;
  conv: number;
  streamId: number;
  dropped: number;
  error?: string;
}

let built: Promise<void> | undefined;

/** Builds the Go peer unless it is up to date (scripts/build-interop.sh is idempotent); once per process. */
export function buildGoPeer(): Promise<void> {
  built ??= (async () => {
    const { success, stderr } = await new Deno.Command("bash", {
      args: [new URL("scripts/build-interop.sh", root).pathname],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`scripts/build-interop.sh failed:\n${new TextDecoder().decode(stderr)}`);
  })();
  return built;
}

export interface PeerOptions {
  /** "go": kcp-go + smux; "ts": ours. */
  kind: "go" | "ts";
  mode: "client" | "server" | "memory";
  /** Server: where to listen (default 127.0.0.1:0); client: the server's address. */
  addr?: string;
  send: number;
  recv?: number;
  loss?: number;
  seed?: number;
  lingerMs?: number;
  /** The peer exits with status 2 after this long. */
  timeoutMs?: number;
  /** sha256 both ways (default); off in benches, where hashing would swamp the CPU figures. */
  verify?: boolean;
  /** Go peer only: SO_RCVBUF/SO_SNDBUF in bytes (default: the kernel's, as Snowflake runs). */
  socketBuffer?: number;
}

export class PeerProcess {
  /** Server mode: the UDP address it listens on. */
  listenAddr = "";
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Promise<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #readyCpu = 0;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = lines(child.stdout);
    this.#stderr = new Response(child.stderr).text();
    this.#stdin = child.stdin.getWriter();
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Starts the peer; resolves once it is ready (a server: listening). */
  static async start(options: PeerOptions): Promise<PeerProcess> {
    const args = [
      `-mode=${options.mode}`,
      `-send=${options.send}`,
      `-recv=${options.recv ?? options.send}`,
      `-loss=${options.loss ?? 0}`,
      `-seed=${options.seed ?? 1}`,
      `-linger=${options.lingerMs ?? 1000}ms`,
      `-timeout=${options.timeoutMs ?? 60_000}ms`,
      `-verify=${options.verify ?? true}`,
    ];
    if (options.addr) args.push(`-addr=${options.addr}`);
    if (options.socketBuffer && options.kind === "go") args.push(`-socket-buffer=${options.socketBuffer}`);
    let command: string;
    if (options.kind === "go") {
      await buildGoPeer();
      command = GO_PEER_BINARY;
    } else {
      command = Deno.execPath();
      args.unshift("run", "-A", TS_PEER);
    }
    const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
    const peer = new PeerProcess(child);
    const line = await peer.#nextLine();
    const match = /^(?:listening (\S+)|ready)$/.exec(line ?? "");
    if (!match || (options.mode === "server") !== (match[1] !== undefined)) {
      throw await peer.#failure(`expected "listening ADDR" or "ready", got ${JSON.stringify(line)}`);
    }
    peer.listenAddr = match[1] ?? "";
    peer.#readyCpu = processCpuSeconds(peer.pid);
    return peer;
  }

  /** Waits for the report, reads the CPU seconds (user + system) used since ready, and lets the peer exit. */
  async finish(): Promise<{ report: PeerReport; cpuSeconds: number }> {
    const line = await this.#nextLine();
    if (line === null) throw await this.#failure("exited without a report");
    const cpuSeconds = processCpuSeconds(this.pid) - this.#readyCpu;
    const report = JSON.parse(line) as PeerReport;
    await this.#stdin.close();
    const status = await this.#child.status;
    await this.#drain();
    if (report.error || !status.success) {
      throw new Error(`peer failed (exit ${status.code}): ${report.error ?? ""}\n${await this.#stderr}`);
    }
    return { report, cpuSeconds };
  }

  /** Kills the peer if it still runs and releases its pipes. Idempotent. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#drain();
  }

  async #nextLine(): Promise<string | null> {
    const { value, done } = await this.#lines.next();
    return done ? null : value;
  }

  async #drain(): Promise<void> {
    while (!(await this.#lines.next()).done) {
      // discard the rest
    }
    await this.#stderr;
  }

  async #failure(what: string): Promise<Error> {
    await this.close();
    return new Error(`peer: ${what}\n${await this.#stderr}`);
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
    }
  }
  if (buffer) yield buffer;
}
