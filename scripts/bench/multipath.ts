/**
 * `deno task bench multipath` (issue 15 item 6): what several proxies at once
 * buy a user, on the chain tor drives: SOCKS5 → our client (`cli/main.ts
 * client`, managed) → our proxies (`cli/main.ts proxy`, each serving one client
 * at a time, `-capacity 1`, so `max` N means N distinct proxies) → our broker
 * → our server → a stand-in ORPort, in a network namespace
 * (tests/support/client_chain.ts). `max` goes in the SOCKS arguments
 * (`max=N`), as a bridge line gives it. Every transfer is SHA-256 checked.
 *
 * - Stall: with `max` 1, 2, 3 and `max`+1 proxies at the broker, a download
 *   during which the proxy that moved the most TCP bytes (ss; tests/support/
 *   peers.ts readMeter) is SIGKILLed a quarter in and a fresh proxy started:
 *   the longest gap in the received bytes. Debian's `snowflake-client` 2.5.1
 *   (`max` 1, through our proxies) is the reference, in the same run.
 * - Churn: 3 proxies, `max` 3; after a warm-up download, a churn-free download, then the same download
 *   with the busiest proxy (over the last period) SIGKILLed every 5 s and a
 *   fresh one started, bounded in time: MB/s under churn as a fraction of the
 *   churn-free MB/s of the same run, and the longest gap.
 * - Rate-limited proxies: 3 proxies each capped by our `-bandwidth-cap`
 *   (1 MB/s, both directions together), `max` 1, 2, 3: the steady MB/s (from
 *   a quarter of the transfer to its end, past the cap's one-second burst),
 *   downloading (the server chooses the path of each packet: whichever of the
 *   session's WebSockets is free) and uploading (the client's scheduler does).
 *
 * `deno task bench multipath --phase=rate-limited` runs only the phases named (comma-separated);
 * `--side=up` only that direction of the rate-limited phase.
 *
 * Runs are bounded in count and time; every chain is torn down after its
 * phase, even on failure. The machine is shared: figures are noisy.
 */

import {
  type ClientChain,
  type ClientKind,
  startClientChain,
  type Transfer,
  type TransferResult,
} from "../../tests/support/client_chain.ts";
import type { Proc } from "../../tests/support/process.ts";
import { readMeter } from "../../tests/support/peers.ts";
import { errorMessage } from "../../lib/util/errors.ts";
import { type Bench, type BenchRow, median } from "./row.ts";

const MB = 1e6;
/** One client per proxy: in the real pool a session rarely meets the same proxy twice. */
const ONE_CLIENT = ["-capacity", "1"];
const CAP_BYTES_PER_SECOND = 1_000_000;
const CHURN_PERIOD_MS = 5_000;
const IDLE_WAIT_MS = 60_000;

type Side = "up" | "down";

/** One direction's progress in a transfer, sampled every 50 ms from its progress lines: when the count grew. */
class Progress {
  readonly points: { t: number; bytes: number }[] = [];
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(transfer: Transfer, side: Side = "down") {
    this.#timer = setInterval(() => {
      const out = transfer.proc.out();
      const at = out.lastIndexOf('{"progress"');
      if (at < 0) return;
      const line = out.slice(at, out.indexOf("\n", at));
      try {
        const bytes = JSON.parse(line).progress[side] as number;
        if (bytes > this.bytes) this.points.push({ t: performance.now(), bytes });
      } catch { /* a line still being written */ }
    }, 50);
  }

  get bytes(): number {
    return this.points.length ? this.points[this.points.length - 1].bytes : 0;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The longest time without progress between the first byte and `end` (when the transfer stopped). */
  longestGap(end: number): number {
    let gap = 0;
    for (let i = 1; i < this.points.length; i++) gap = Math.max(gap, this.points[i].t - this.points[i - 1].t);
    const last = this.points[this.points.length - 1];
    return last ? Math.max(gap, end - last.t) : end;
  }

  /** MB/s from the first time the count reached `fromBytes` to the last sample. */
  rateFrom(fromBytes: number): number {
    const start = this.points.find((p) => p.bytes >= fromBytes);
    const last = this.points[this.points.length - 1];
    if (!start || !last || last.t <= start.t) return NaN;
    return (last.bytes - start.bytes) / MB / ((last.t - start.t) / 1000);
  }
}

/** Proxies of the chain still alive (the bench SIGKILLs some). */
class Fleet {
  readonly #dead = new Set<Proc>();
  constructor(readonly chain: ClientChain, readonly ice: string) {}

  /** The SOCKS arguments of a session with `max` proxies. */
  args(max: number): string {
    return `${this.chain.ptArgs.replace(/ice=[^;]*/, `ice=${this.ice}`)};max=${max}`;
  }

  live(): Proc[] {
    return this.chain.proxies.filter((p) => !this.#dead.has(p));
  }

  /** Marks the TCP bytes of the live proxies now; the returned function SIGKILLs the one that moved most since. */
  async markBusiest(): Promise<() => Promise<void>> {
    const meter = await readMeter(this.live(), this.chain.netns);
    return async () => {
      const busy = await meter.busiest();
      this.#dead.add(busy);
      await this.chain.killProxy(busy);
      this.chain.startProxy();
    };
  }
}

function checkIntact(result: TransferResult, size: number, what: string, side: Side = "down"): void {
  if (result.error) throw new Error(`${what}: ${result.error}`);
  const [bytes, got, sent] = side === "down"
    ? [result.downBytes, result.downSha256, result.downSentSha256]
    : [result.upBytes, result.upSha256, result.upSentSha256];
  if (bytes !== size || got !== sent) {
    throw new Error(`${what}: ${side}load not intact (${bytes} of ${size} bytes)`);
  }
}

/**
 * The client's ICE server: a plain RFC 5389 STUN server in the namespace (tests/support/stun_server.ts), so that
 * the client finds its NAT `unknown`. With the chain's RFC 5780 server it would be `unrestricted`, like our proxies
 * once they have probed, and the broker never matches an unrestricted client with an unrestricted proxy: rendezvous
 * would then depend on whether a proxy had finished its first probe (our broker matches unknown with either).
 */
async function clientStun(chain: ClientChain): Promise<string> {
  const stun = chain.spawn(Deno.execPath(), [
    "run",
    "-A",
    "--unstable-net",
    new URL("../../tests/support/stun_server.ts", import.meta.url).pathname,
    "--hostnames",
    "192.0.2.1,192.0.2.3",
    "--ports",
    "3480,3481",
    "--mode",
    "rfc5389",
    "--until-stdin-closes",
  ]);
  return (await stun.waitFor(/^stun:\S+$/m, Date.now() + 30_000))[0];
}

/** Starts a chain, runs `body`, tears it down (with the logs in the error on failure). */
async function withChain<T>(
  client: ClientKind,
  proxies: number,
  proxyArgs: string[],
  body: (fleet: Fleet) => Promise<T>,
): Promise<T> {
  // Our client logs each session's retransmissions and reordering at its end (debug lines).
  const clientArgs = client === "ours" ? ["-verbose"] : [];
  // The server's stats line each second tells what its KCP resent (bridgeResent).
  const serverArgs = ["-stats-interval", "1s"];
  const chain = await startClientChain({ client, proxy: "ours", proxies, proxyArgs, clientArgs, serverArgs });
  try {
    const ice = await clientStun(chain);
    return await body(new Fleet(chain, ice));
  } catch (error) {
    const logs = (await chain.logs()).slice(-20_000);
    throw new Error(`${errorMessage(error)}\n${logs}`, { cause: error });
  } finally {
    await chain.close();
  }
}

/** Client log lines from `since` (Date.now()) on, for the diagnosis printed on stderr. */
async function clientLogSince(chain: ClientChain, since: number, lines = 12): Promise<string> {
  const log = await Deno.readTextFile(`${chain.dir}/client.log`).catch(() => "");
  const stamp = (line: string) => Date.parse(line.slice(0, 19).replace(" ", "T").replaceAll("/", "-") + "Z");
  return log.split("\n").filter((line) => line && !(stamp(line) < since - 1000)).slice(0, lines)
    .map((line) => `    ${line}`).join("\n");
}

/** What the server's stats lines since `since` say its KCP resent, summed by cause. */
function bridgeResent(chain: ClientChain, since: number): string {
  const sums = { timeout: 0, early: 0, fast: 0 };
  const stamp = (line: string) => Date.parse(line.slice(0, 19).replace(" ", "T").replaceAll("/", "-") + "Z");
  for (const line of `${chain.server.out()}\n${chain.server.err()}`.split("\n")) {
    if (!(stamp(line) >= since)) continue;
    const m = /KCP segments resent: (\d+) on timeout, (\d+) early, (\d+) fast/.exec(line);
    if (!m) continue;
    sums.timeout += Number(m[1]);
    sums.early += Number(m[2]);
    sums.fast += Number(m[3]);
  }
  return `${sums.timeout} on timeout, ${sums.early} early, ${sums.fast} fast`;
}

/** One stall run: returns the longest gap (ms) in a download whose busiest proxy is SIGKILLed a quarter in. */
async function stallRun(fleet: Fleet, max: number, size: number, timeoutMs: number): Promise<number> {
  const { chain } = fleet;
  await chain.waitForIdleProxies(max + 1, Date.now() + IDLE_WAIT_MS);
  const transfer = chain.transfer(0, size, timeoutMs, fleet.args(max));
  await transfer.downReached(size / 8); // every carrier is up by now
  const killBusiest = await fleet.markBusiest();
  await transfer.downReached(size / 4);
  const killedAt = Date.now();
  await killBusiest();
  const result = await transfer.result;
  checkIntact(result, size, `stall run, max ${max}`);
  console.error(
    `bench multipath: stall max ${max}: ${
      Math.round(result.downMaxGapMs)
    } ms; client log from the kill:\n${await clientLogSince(
      chain,
      killedAt,
    )}`,
  );
  return result.downMaxGapMs;
}

interface ChurnFigures {
  freeMbps: number;
  churnMbps: number;
  churnGapMs: number;
  kills: number;
  churnBytes: number;
}

/**
 * A download over the chain's 3 proxies before anything is measured: fresh Deno processes run slower until V8 has
 * compiled their hot paths, which would favour whichever of churn-free and churn ran second.
 */
async function warmUp(fleet: Fleet, size: number): Promise<void> {
  await fleet.chain.waitForIdleProxies(3, Date.now() + IDLE_WAIT_MS);
  checkIntact(await fleet.chain.transfer(0, size, 60_000, fleet.args(3)).result, size, "warm-up");
}

/** One churn run on 3 proxies, max 3: a churn-free download, then the same size with the busiest killed every 5 s. */
async function churnRun(fleet: Fleet, size: number, timeoutMs: number): Promise<ChurnFigures> {
  const { chain } = fleet;
  await chain.waitForIdleProxies(3, Date.now() + IDLE_WAIT_MS);
  const free = await chain.transfer(0, size, 3 * timeoutMs, fleet.args(3)).result; // not the bounded one
  checkIntact(free, size, "churn-free run");

  await chain.waitForIdleProxies(3, Date.now() + IDLE_WAIT_MS);
  const transfer = chain.transfer(0, size, timeoutMs, fleet.args(3));
  const progress = new Progress(transfer);
  let kills = 0;
  let done = false;
  const result = transfer.result.finally(() => done = true);
  try {
    await transfer.downReached(1);
    const firstByte = performance.now();
    while (!done) {
      const killBusiest = await fleet.markBusiest();
      const tick = new Promise((resolve) => setTimeout(resolve, CHURN_PERIOD_MS));
      await Promise.race([tick, result]);
      if (done) break;
      await killBusiest();
      kills++;
    }
    const r = await result;
    const end = performance.now();
    if (!r.error) checkIntact(r, size, "churn run");
    // Bounded in time: a run that did not finish counts the bytes it got by its deadline.
    const complete = !r.error;
    const bytes = complete ? size : progress.bytes;
    const seconds = complete ? r.downMs / 1000 : (end - firstByte) / 1000;
    console.error(
      `bench multipath: churn ${kills} kills, ${(bytes / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s${
        complete ? "" : ` (stopped: ${r.error?.slice(0, 200)})`
      }; churn-free ${(size / MB / (free.downMs / 1000)).toFixed(2)} MB/s`,
    );
    return {
      freeMbps: size / MB / (free.downMs / 1000),
      churnMbps: bytes / MB / seconds,
      churnGapMs: complete ? r.downMaxGapMs : progress.longestGap(end),
      kills,
      churnBytes: bytes,
    };
  } finally {
    progress.stop();
  }
}

/** One rate-limited run: the steady MB/s of a download (or upload) over `max` capped proxies. */
async function cappedRun(
  fleet: Fleet,
  side: Side,
  max: number,
  size: number,
  timeoutMs: number,
): Promise<number> {
  const { chain } = fleet;
  await chain.waitForIdleProxies(3, Date.now() + IDLE_WAIT_MS);
  const meter = await readMeter(fleet.live(), chain.netns);
  const startedAt = Date.now();
  const transfer = side === "down"
    ? chain.transfer(0, size, timeoutMs, fleet.args(max))
    : chain.transfer(size, 0, timeoutMs, fleet.args(max));
  const progress = new Progress(transfer, side);
  // What each proxy moved, sampled while the session's sockets are open (ss sees only those).
  let lastMoved: number[] = [];
  const sampler = setInterval(() => meter.moved().then((m) => lastMoved = m), 1000);
  try {
    const result = await transfer.result;
    clearInterval(sampler);
    checkIntact(result, size, `rate-limited ${side}load, max ${max}`, side);
    const rate = progress.rateFrom(size / 4);
    const moved = lastMoved.map((bytes) => (bytes / MB).toFixed(1)).join(" / ");
    console.error(
      `bench multipath: ${side}load over ${max} capped proxies: ${rate.toFixed(2)} MB/s steady ` +
        `(TCP MB per proxy: ${moved})`,
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // the session's end is logged just after
    const figures = (await clientLogSince(chain, startedAt, Infinity)).split("\n")
      .filter((line) => line.includes("retransmitted"));
    if (figures.length > 0) console.error(figures[figures.length - 1]); // this session's
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the next stats line counts the last second
    console.error(`  the bridge's KCP resent ${bridgeResent(chain, startedAt)}`);
    return rate;
  } finally {
    clearInterval(sampler);
    progress.stop();
  }
}

/** Runs `run` `min` to `max` times, stopping after `min` once `budgetMs` is spent. */
async function repeat<T>(run: () => Promise<T>, min: number, max: number, budgetMs: number): Promise<T[]> {
  const out: T[] = [];
  const start = performance.now();
  while (out.length < max && (out.length < min || performance.now() - start < budgetMs)) {
    out.push(await run());
  }
  return out;
}

const best = (values: number[], higherIsBetter: boolean) =>
  higherIsBetter ? Math.max(...values) : Math.min(...values);

/** `--phase=stall,churn,rate-limited` (any of them; default all): only the phases named. */
const phases = Deno.args.find((arg) => arg.startsWith("--phase="))?.slice("--phase=".length).split(",");
/** `--side=down,up` (either; default both): the directions the rate-limited phase measures. */
const sides = (Deno.args.find((arg) => arg.startsWith("--side="))?.slice("--side=".length).split(",") ??
  ["down", "up"]).filter((side): side is Side => side === "down" || side === "up");

/** Runs one phase; a failure becomes a row (and its logs go to stderr) so that the other phases still run. */
async function phase(name: string, rows: () => Promise<BenchRow[]>): Promise<BenchRow[]> {
  if (phases && !phases.includes(name)) return [];
  try {
    return await rows();
  } catch (error) {
    const message = errorMessage(error);
    console.error(`bench multipath: ${name} failed: ${message}`);
    return [{ case: `${name} (failed)`, unit: "", ours: NaN, note: message.split("\n")[0].slice(0, 200) }];
  }
}

export const bench: Bench = async ({ quick }) => {
  const stallSize = quick ? 12 * MB : 30 * MB;
  // Large enough for several kills at today's ~10 MB/s; the churn run is bounded in time, not by its size.
  const churnSize = quick ? 20 * MB : 300 * MB;
  const cappedSize = quick ? 4 * MB : 12 * MB;
  const runs = quick ? 1 : 3;
  const churnBoundMs = quick ? 40_000 : 70_000;

  const stallRows = await phase("stall", async () => {
    const stalls: number[][] = [];
    for (const max of [1, 2, 3]) {
      stalls[max] = await withChain(
        "ours",
        max + 1,
        ONE_CLIENT,
        (fleet) => repeat(() => stallRun(fleet, max, stallSize, 120_000), runs, runs, 0),
      );
    }
    // Go's client uses one proxy whatever max is, and fails over on its own timeouts (~24 s in the issue).
    let goStalls: number[] = [];
    try {
      goStalls = await withChain(
        "go",
        2,
        ONE_CLIENT,
        (fleet) => repeat(() => stallRun(fleet, 1, stallSize, 150_000), 1, runs, 150_000),
      );
    } catch (error) {
      console.error(
        `bench multipath: Go client stall failed: ${errorMessage(error)}`,
      );
    }
    const goNote = goStalls.length
      ? `Go client 2.5.1 at max 1, ${goStalls.length} runs: ${goStalls.map(Math.round).join(", ")}`
      : "Go client failed (see stderr)";
    return [1, 2, 3].map((max) => ({
      case: `stall after the busy proxy's SIGKILL, max ${max}`,
      unit: "ms",
      ours: median(stalls[max]),
      best: best(stalls[max], false),
      reference: goStalls.length ? median(goStalls) : undefined,
      note: `${max > 1 ? "target ≤ 2000; " : ""}${stalls[max].length} runs ` +
        `(${stalls[max].map(Math.round).join(", ")}), ${stallSize / MB} MB killed at ¼; reference: ${goNote}`,
    }));
  });

  const churnRows = await phase("churn", async () => {
    const churn = await withChain(
      "ours",
      3,
      ONE_CLIENT,
      async (fleet) => {
        await warmUp(fleet, 20 * MB);
        return await repeat(() => churnRun(fleet, churnSize, churnBoundMs), 1, runs, quick ? 0 : 300_000);
      },
    );
    const fractions = churn.map((c) => c.churnMbps / c.freeMbps);
    const gaps = churn.map((c) => c.churnGapMs);
    return [
      {
        case: "MB/s under churn ÷ churn-free MB/s",
        unit: "fraction",
        ours: median(fractions),
        best: best(fractions, true),
        note:
          `target ≥ 0.5; ${churn.length} runs, ${
            churnSize / MB
          } MB, 3 proxies, max 3, busiest killed every ` +
          `5 s (kills ${churn.map((c) => c.kills).join(", ")}; bounded at ${churnBoundMs / 1000} s)`,
      },
      {
        case: "MB/s under churn",
        unit: "MB/s",
        ours: median(churn.map((c) => c.churnMbps)),
        best: best(churn.map((c) => c.churnMbps), true),
        note: `churn-free median ${median(churn.map((c) => c.freeMbps)).toFixed(2)} MB/s`,
      },
      {
        case: "longest gap under churn",
        unit: "ms",
        ours: median(gaps),
        best: best(gaps, false),
        note: `target ≤ 3000; runs: ${gaps.map(Math.round).join(", ")}`,
      },
    ];
  });

  const cappedRows = await phase("rate-limited", async () => {
    const capped: Record<Side, number[][]> = { down: [], up: [] };
    const cap = [...ONE_CLIENT, "-bandwidth-cap", String(CAP_BYTES_PER_SECOND)];
    await withChain("ours", 3, cap, async (fleet) => {
      for (const side of sides) {
        for (const max of [1, 2, 3]) {
          capped[side][max] = await repeat(
            () => cappedRun(fleet, side, max, cappedSize, 90_000),
            runs,
            runs,
            0,
          );
        }
      }
    });
    return sides.flatMap((side) =>
      [1, 2, 3].map((max) => {
        const figures = capped[side][max];
        const ratio = median(figures) / median(capped[side][1]);
        return {
          case: `${side}load, ${max} proxies capped at ${CAP_BYTES_PER_SECOND / MB} MB/s each, max ${max}`,
          unit: "MB/s",
          ours: median(figures),
          best: best(figures, true),
          note: `${max > 1 ? `${ratio.toFixed(2)}× one proxy; ` : ""}${max === 2 ? "target ≥ 1.6×; " : ""}` +
            `${figures.length} runs, ${cappedSize / MB} MB, steady rate from ¼ to the end`,
        };
      })
    );
  });
  return [...stallRows, ...churnRows, ...cappedRows];
};
