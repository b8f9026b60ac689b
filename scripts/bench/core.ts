/**
 * The Turbo Tunnel core's bench: KCP+smux bulk throughput with Snowflake's
 * settings, ours against kcp-go + smux from the same run.
 *
 * - in memory (a client and a server in one process over a bounded in-memory
 *   packet link, 1024 packets per direction, drop when full), at 0 % and 1 %
 *   loss: TS↔TS, with Go↔Go as the reference. CPU seconds per 100 MB here is
 *   the figure that decides the whole chain (PERFORMANCE.md).
 * - over loopback UDP, one process per side: TS↔TS, TS client → Go server,
 *   Go client → TS server, with Go↔Go as the reference. Our socket
 *   (tests/support/udp/udp.ts) asks for 8 MiB buffers and batches with
 *   recvmmsg/sendmmsg; the Go peers get 8 MiB buffers too (-socket-buffer), so
 *   the rows compare like with like. One more row compares TS↔TS with Go↔Go on
 *   the kernel's default buffers (net.core.rmem_default), as Snowflake's Go
 *   runs: they drop a large share of each window, so Go waits on retransmissions.
 *
 * Every case is a one-way bulk transfer, client → server, through the peers of
 * tests/interop/kcpsmux/ (peer.go and ts_peer.ts: same protocol), with the
 * sha256 check off (-verify=false: byte counts only; the conformance tests check
 * content): hashing would be a large share of the CPU measured, and Go 1.19's
 * sha256 lacks SHA-NI, 4× slower than ours. MB/s is bytes over the client's
 * transfer time (stream open to the server's digest back); CPU is user + system
 * of both sides from /proc/<pid>/stat, from each peer's "ready" line to its
 * report. Each case runs several times (bounded in count and time); rows give
 * the median and the best.
 */

import { PeerProcess } from "../../tests/interop/kcpsmux/peer_process.ts";
import { type Bench, type BenchRow, median } from "./row.ts";

const MB = 1e6;

interface Sample {
  mbPerSecond: number;
  cpuPerMb: number;
  /** Loopback UDP: datagrams the kernel dropped at a full socket receive buffer (system-wide counter). */
  drops?: number;
}

type Kind = "go" | "ts";

const label = (kind: Kind) => kind === "ts" ? "TS" : "Go";

/** One in-memory run: a peer process in memory mode. */
async function memoryRun(kind: Kind, bytes: number, loss: number): Promise<Sample> {
  const peer = await PeerProcess.start({ kind, mode: "memory", send: bytes, loss, seed: 3, verify: false });
  try {
    const { report, cpuSeconds } = await peer.finish();
    return { mbPerSecond: bytes / MB / report.seconds, cpuPerMb: cpuSeconds / (bytes / MB) };
  } finally {
    await peer.close();
  }
}

/** The kernel's count of UDP datagrams dropped at full receive buffers (RcvbufErrors, /proc/net/snmp). */
function udpReceiveBufferErrors(): number {
  const [names, values] = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  return Number(values.split(" ")[names.split(" ").indexOf("RcvbufErrors")]);
}

/** Socket buffer size our UDP socket asks for (tests/support/udp/udp.ts), given to the Go peers for like-for-like rows. */
const UDP_BUFFER = 8 << 20;

/** One loopback-UDP run: a server process and a client process. */
async function udpRun(client: Kind, server: Kind, bytes: number, goSocketBuffer = 0): Promise<Sample> {
  const dropsBefore = udpReceiveBufferErrors();
  const serverPeer = await PeerProcess.start({
    socketBuffer: goSocketBuffer,
    kind: server,
    mode: "server",
    send: 0,
    recv: bytes,
    lingerMs: 200,
    verify: false,
  });
  let clientPeer: PeerProcess | undefined;
  try {
    clientPeer = await PeerProcess.start({
      socketBuffer: goSocketBuffer,
      kind: client,
      mode: "client",
      addr: serverPeer.listenAddr,
      send: bytes,
      recv: 0,
      lingerMs: 200,
      verify: false,
    });
    const [c, s] = await Promise.all([clientPeer.finish(), serverPeer.finish()]);
    if (!s.report.finReceived) throw new Error("the server did not see the client's FIN");
    return {
      mbPerSecond: bytes / MB / c.report.seconds,
      cpuPerMb: (c.cpuSeconds + s.cpuSeconds) / (bytes / MB),
      drops: udpReceiveBufferErrors() - dropsBefore,
    };
  } finally {
    await clientPeer?.close();
    await serverPeer.close();
  }
}

/** Runs `run` at least `min` and at most `max` times, stopping once `budgetMs` is spent. */
async function repeat(
  run: () => Promise<Sample>,
  min: number,
  max: number,
  budgetMs: number,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  const start = performance.now();
  while (samples.length < max && (samples.length < min || performance.now() - start < budgetMs)) {
    samples.push(await run());
  }
  return samples;
}

interface Figures {
  rate: number;
  bestRate: number;
  cpu: number;
  bestCpu: number;
  runs: number;
  drops?: number;
}

function figures(samples: Sample[]): Figures {
  return {
    rate: median(samples.map((s) => s.mbPerSecond)),
    bestRate: Math.max(...samples.map((s) => s.mbPerSecond)),
    cpu: median(samples.map((s) => s.cpuPerMb)),
    bestCpu: Math.min(...samples.map((s) => s.cpuPerMb)),
    runs: samples.length,
    drops: samples[0].drops === undefined ? undefined : median(samples.map((s) => s.drops ?? 0)),
  };
}

/** Rows for one case: MB/s and CPU s/MB (and CPU s/100 MB when asked), with the reference's medians. */
function rows(name: string, ours: Figures, reference: Figures, note: string, per100 = false): BenchRow[] {
  const runs = `${ours.runs} runs (Go ${reference.runs})`;
  const out: BenchRow[] = [
    {
      case: name,
      unit: "MB/s",
      ours: ours.rate,
      best: ours.bestRate,
      reference: reference.rate,
      note: `${runs}; ${note}`,
    },
    {
      case: name,
      unit: "CPU s/MB",
      ours: ours.cpu,
      best: ours.bestCpu,
      reference: reference.cpu,
      note: ours.drops === undefined
        ? runs
        : `${runs}; kernel receive-buffer drops ${ours.drops} (Go↔Go ${reference.drops}), median`,
    },
  ];
  if (per100) {
    out.push({
      case: name,
      unit: "CPU s/100 MB",
      ours: ours.cpu * 100,
      best: ours.bestCpu * 100,
      reference: reference.cpu * 100,
      note: "the chain figure (PERFORMANCE.md: Go chain 31–53)",
    });
  }
  return out;
}

export const bench: Bench = async ({ quick }) => {
  const memoryBytes = quick ? 4 << 20 : 64 << 20;
  const udpBytes = quick ? 4 << 20 : 32 << 20;
  const [min, max, budgetMs] = quick ? [1, 1, 0] : [3, 5, 20_000];
  const out: BenchRow[] = [];

  for (const loss of [0, 0.01]) {
    const name = `KCP+smux in memory, ${loss * 100} % loss, ${memoryBytes >> 20} MiB one way`;
    const go = figures(await repeat(() => memoryRun("go", memoryBytes, loss), min, max, budgetMs));
    const ts = figures(await repeat(() => memoryRun("ts", memoryBytes, loss), min, max, budgetMs));
    const note = `${
      loss ? "" : "target ≥ 100 MB/s; "
    }reference: Go↔Go (its two ends on two cores, ours on one thread)`;
    out.push(...rows(name, ts, go, note, true));
  }

  // Our socket asks for 8 MiB buffers; Snowflake's Go runs with the kernel's default (~208 KiB). Go↔Go is
  // measured both ways, and the Go peers of the mixed cells get 8 MiB too, so the comparison is like for like.
  const goGoDefault = figures(await repeat(() => udpRun("go", "go", udpBytes), min, max, budgetMs));
  const goGo = figures(await repeat(() => udpRun("go", "go", udpBytes, UDP_BUFFER), min, max, budgetMs));
  const size = `${udpBytes >> 20} MiB one way`;
  for (const [client, server] of [["ts", "ts"], ["ts", "go"], ["go", "ts"]] as const) {
    const name = `KCP+smux loopback UDP, ${label(client)} client → ${label(server)} server, ${size}`;
    const ours = figures(
      await repeat(() => udpRun(client, server, udpBytes, UDP_BUFFER), min, max, budgetMs),
    );
    const target = client === "ts" && server === "ts" ? "target ≥ Go↔Go; " : "";
    out.push(...rows(name, ours, goGo, `${target}reference: Go↔Go; socket buffers 8 MiB on every side`));
  }
  out.push(...rows(
    `KCP+smux loopback UDP, TS client → TS server (8 MiB buffers), ${size}`,
    figures(await repeat(() => udpRun("ts", "ts", udpBytes), min, max, budgetMs)),
    goGoDefault,
    "reference: Go↔Go with the kernel's default socket buffers, as Snowflake's Go runs",
  ));
  return out;
};
