/**
 * Runs two peer programs (tests/webrtc/peer_program.ts over our binding, or
 * build/ffi/webrtc-go-peer over pion directly) against each other as separate
 * processes: relays the offer and answer lines, collects both result lines,
 * then closes their stdin and waits for them to exit. Used by the
 * cross-process test and by scripts/bench/webrtc.ts.
 */

const ROOT = new URL("../../", import.meta.url);

export type PeerKind = "ts" | "go";

export interface PeerResult {
  sent: number;
  sentSha256: string;
  received: number;
  receivedSha256: string;
  /** From channel open until this peer had sent and received everything. */
  seconds: number;
  /** This process's CPU time over the same window. */
  cpuSeconds: number;
}

export interface PairOptions {
  offer: PeerKind;
  answer: PeerKind;
  /** Bytes the offerer sends (the answerer expects them), and the reverse. */
  offerSends: number;
  answerSends: number;
  /** Message size in bytes. */
  size: number;
  /** Kill both and fail after this long. */
  timeoutMs: number;
}

/** Path of the Go peer built by scripts/build-ffi.sh. */
export const GO_PEER = new URL("build/ffi/webrtc-go-peer", ROOT).pathname;

function command(kind: PeerKind, role: string, send: number, expect: number, size: number): Deno.Command {
  const flags = ["-role", role, "-send", String(send), "-expect", String(expect), "-size", String(size)];
  const [program, args] = kind === "go"
    ? [GO_PEER, flags]
    : [Deno.execPath(), ["run", "-A", new URL("tests/webrtc/peer_program.ts", ROOT).pathname, ...flags]];
  return new Deno.Command(program, { args, stdin: "piped", stdout: "piped", stderr: "inherit" });
}

/** One peer process: line-based stdin/stdout. */
class PeerProcess {
  readonly child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #pending = "";

  constructor(cmd: Deno.Command) {
    this.child = cmd.spawn();
    this.#writer = this.child.stdin.getWriter();
    this.#reader = this.child.stdout.getReader();
  }

  async readLine(): Promise<string> {
    const decoder = new TextDecoder();
    for (;;) {
      const newline = this.#pending.indexOf("\n");
      if (newline >= 0) {
        const line = this.#pending.slice(0, newline);
        this.#pending = this.#pending.slice(newline + 1);
        return line;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`peer process exited early (${(await this.child.status).code})`);
      this.#pending += decoder.decode(value, { stream: true });
    }
  }

  async writeLine(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /** Closes stdin (the peer then closes and exits) and waits for the exit. */
  async finish(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    this.#reader.releaseLock();
    await this.child.stdout.cancel().catch(() => {});
    return await this.child.status;
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
}

/** Runs one transfer between two peer processes; throws if either fails or the time runs out. */
export async function runPeerPair(options: PairOptions): Promise<{ offer: PeerResult; answer: PeerResult }> {
  const { offerSends, answerSends, size } = options;
  const offerer = new PeerProcess(command(options.offer, "offer", offerSends, answerSends, size));
  const answerer = new PeerProcess(command(options.answer, "answer", answerSends, offerSends, size));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      offerer.kill();
      answerer.kill();
      reject(
        new Error(`peer pair ${options.offer}↔${options.answer} timed out after ${options.timeoutMs} ms`),
      );
    }, options.timeoutMs);
  });
  const run = async () => {
    await answerer.writeLine(await offerer.readLine());
    await offerer.writeLine(await answerer.readLine());
    const [offer, answer] = await Promise.all([offerer.readLine(), answerer.readLine()]);
    return { offer: JSON.parse(offer) as PeerResult, answer: JSON.parse(answer) as PeerResult };
  };
  try {
    const results = await Promise.race([run(), timeout]);
    const [offerStatus, answerStatus] = await Promise.all([offerer.finish(), answerer.finish()]);
    if (!offerStatus.success || !answerStatus.success) {
      throw new Error(`peer exited with ${offerStatus.code} (offer), ${answerStatus.code} (answer)`);
    }
    return results;
  } catch (error) {
    offerer.kill();
    answerer.kill();
    await Promise.allSettled([offerer.finish(), answerer.finish()]);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
