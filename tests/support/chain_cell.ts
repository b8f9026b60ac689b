/**
 * One cell of the interop matrix and of `bench chain`: a Snowflake client (Go
 * or ours, driven as tor drives a managed PT client) → two proxies (Go or ours)
 * → our broker → our server (plain ws://) → a stand-in ORPort held by this
 * program, all on the veth addresses of the network namespace this program
 * runs in (see {@link runChainCell}). Over one SOCKS connection (one Turbo
 * Tunnel session) it moves, in turn:
 *
 * 1. `down` bytes from the ORPort to the SOCKS side,
 * 2. `up` bytes from the SOCKS side to the ORPort,
 * 3. `killDown` bytes down again, SIGKILLing the busy proxy (the one that has
 *    read the most) a quarter in and starting a fresh one: the stall is the
 *    longest gap between received bytes.
 *
 * Every byte is compared with what was sent. For the first two phases it
 * reports MB/s (first byte to last) and the CPU seconds all roles used
 * (client, proxies, server, broker; from /proc) per 100 MB.
 *
 * As a program (inside the namespace): `chain_cell.ts JSON_OPTIONS` prints one
 * JSON line, a {@link CellResult} (with `error` on failure).
 */

import { startNetnsBroker, TEST_BRIDGE_FINGERPRINT as FINGERPRINT } from "../broker/broker_process.ts";
import { type Proc, spawnProcess } from "./process.ts";
import { cpuSeconds, type Impl, proxyCommand, readMeter, startOurServer } from "./peers.ts";
import { createNetns, deleteNetns } from "../util/netns.ts";

const REPO = new URL("../../", import.meta.url).pathname;
// Nothing answers here: no STUN server runs in the namespace, and the ICMP port-unreachable never
// reaches pion's unconnected UDP socket. So every ICE gathering (each client offer, each proxy answer)
// waits out pion's 5 s srflx timeout (stunGatherTimeout) before it completes, and the NAT tests time
// out too (ours: 5 s a request), leaving NAT types `unknown` (the broker matches them).
const STUN = "stun:192.0.2.1:3478";

export interface CellOptions {
  client: Impl;
  proxy: Impl;
  down: number;
  up: number;
  /** Bytes of the download during which the busy proxy is killed; 0 = no kill phase. */
  killDown: number;
  budgetMs: number;
  /** The namespace this cell runs in (set by {@link runChainCell}). */
  netns?: string;
}

export interface PhaseResult {
  bytes: number;
  intact: boolean;
  mbPerSecond: number;
  /** All roles' CPU seconds per 100 MB moved in this phase. */
  cpuPer100MB: number;
  /** Per role: client, proxy, server, broker. */
  cpuByRole: Record<string, number>;
  stallMs: number;
}

export interface CellResult {
  client: Impl;
  proxy: Impl;
  error?: string;
  /** From the client's start to the first byte of the first phase. */
  firstByteMs?: number;
  down?: PhaseResult;
  up?: PhaseResult;
  kill?: PhaseResult;
}

/** Runs one cell in a fresh network namespace (needs root); returns its result. */
export async function runChainCell(options: CellOptions): Promise<CellResult> {
  const netns = `sfcell-${Deno.pid}-${options.client}-${options.proxy}`;
  await createNetns(netns, "sfm");
  try {
    const child = spawnProcess(Deno.execPath(), [
      "run",
      "-A",
      `${REPO}tests/support/chain_cell.ts`,
      JSON.stringify({ ...options, netns }),
    ], { netns });
    try {
      const line = await child.waitFor(/^\{"client".*\}$/m, Date.now() + options.budgetMs + 30_000);
      return JSON.parse(line[0]);
    } catch (error) {
      return { client: options.client, proxy: options.proxy, error: String(error) };
    } finally {
      await child.stop();
    }
  } finally {
    await deleteNetns(netns);
  }
}

function random(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536));
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off, off + 256 * 1024));
}

/** Reads `expected.length` bytes and compares them; times the first byte, the last and the longest gap. */
async function receive(
  conn: Deno.Conn,
  expected: Uint8Array,
  onProgress: (got: number) => void | Promise<void>,
): Promise<{ intact: boolean; bytes: number; first: number; last: number; stallMs: number }> {
  const buffer = new Uint8Array(256 * 1024);
  let got = 0;
  let intact = true;
  let first = 0;
  let last = 0;
  let stall = 0;
  while (got < expected.length) {
    const n = await conn.read(buffer);
    if (n === null) break;
    const now = performance.now();
    if (got === 0) first = now;
    else stall = Math.max(stall, now - last);
    last = now;
    if (got + n > expected.length) {
      intact = false;
      break;
    }
    for (let i = 0; i < n; i++) {
      if (buffer[i] !== expected[got + i]) {
        intact = false;
        break;
      }
    }
    got += n;
    if (!intact) break;
    await onProgress(got);
  }
  return { intact: intact && got === expected.length, bytes: got, first, last, stallMs: Math.round(stall) };
}

/** SOCKS5 with the PT arguments as username/password (goptlib refuses pipelining: one message at a time). */
async function socksConnect(port: number, ptArgs: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buffer = new Uint8Array(16);
  const expect = async (n: number, want: number[], what: string) => {
    let got = 0;
    while (got < n) {
      const r = await conn.read(buffer.subarray(got, n));
      if (r === null) throw new Error(`SOCKS ${what}: closed`);
      got += r;
    }
    if (want.some((b, i) => buffer[i] !== b)) throw new Error(`SOCKS ${what}: ${[...buffer.subarray(0, n)]}`);
  };
  await writeAll(conn, new Uint8Array([5, 1, 2]));
  await expect(2, [5, 2], "method");
  const bytes = new TextEncoder().encode(ptArgs);
  await writeAll(conn, new Uint8Array([1, bytes.length, ...bytes, 1, 0]));
  await expect(2, [1, 0], "auth");
  await writeAll(conn, new Uint8Array([5, 1, 0, 1, 192, 0, 2, 3, 0, 1]));
  await expect(10, [5, 0, 0, 1], "connect");
  return conn;
}

async function runCell(options: CellOptions): Promise<CellResult> {
  const deadline = Date.now() + options.budgetMs;
  const dir = await Deno.makeTempDir({ prefix: "chain-cell-" });
  const procs: Proc[] = [];
  let stopBroker: (() => Promise<number>) | undefined;
  const orListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const result: CellResult = { client: options.client, proxy: options.proxy };
  let socks: Deno.Conn | undefined;
  let orConn: Deno.Conn | undefined;
  const spawn = (cmd: string, args: string[], env?: Record<string, string>) => {
    const proc = spawnProcess(cmd, args, { env, stdin: env !== undefined });
    procs.push(proc);
    return proc;
  };
  try {
    const server = startOurServer("192.0.2.1:0", orListener.addr.port);
    procs.push(server);
    const relay = `ws://192.0.2.1:${Number((await server.waitFor(/listening on port (\d+)/, deadline))[1])}/`;
    const broker = await startNetnsBroker(options.netns!, dir, relay);
    stopBroker = broker.stop;
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    const proxies: Proc[] = [];
    /** CPU of proxies already killed, so that a phase still counts it. */
    let deadProxyCpu = 0;
    const addProxy = () => {
      const [cmd, args] = proxyCommand(options.proxy, { broker: brokerUrl, relay, stun: STUN });
      proxies.push(spawn(cmd, args));
    };
    addProxy();
    addProxy();

    const clientArgs = ["-keep-local-addresses", "-log", `${dir}/client.log`];
    const client = options.client === "go"
      ? spawn("snowflake-client", clientArgs, managedEnv(dir))
      : spawn(Deno.execPath(), ["run", "-A", `${REPO}cli/main.ts`, "client", ...clientArgs], managedEnv(dir));
    const clientStarted = performance.now();
    await client.waitFor(/^CMETHODS DONE$/m, deadline);
    const cmethod = /^CMETHOD snowflake socks5 127\.0\.0\.1:(\d+)$/m.exec(client.out());
    if (!cmethod) throw new Error(`no CMETHOD line:\n${client.out()}`);
    const accepted = orListener.accept();
    socks = await socksConnect(Number(cmethod[1]), `url=${brokerUrl};fingerprint=${FINGERPRINT};ice=${STUN}`);

    const sample = () => {
      return {
        client: cpuSeconds(client.pid),
        proxy: proxies.reduce((sum, p) => sum + cpuSeconds(p.pid), deadProxyCpu),
        server: cpuSeconds(server.pid),
        broker: cpuSeconds(broker.pid),
      };
    };
    const phase = async (
      from: () => Deno.Conn,
      to: () => Deno.Conn,
      size: number,
      onProgress: (got: number) => void | Promise<void> = () => {},
    ): Promise<PhaseResult> => {
      const data = random(size);
      const before = sample();
      const [, got] = await Promise.all([writeAll(from(), data), receive(to(), data, onProgress)]);
      const after = sample();
      const cpuByRole: Record<string, number> = {};
      let cpu = 0;
      for (const role of Object.keys(before) as (keyof typeof before)[]) {
        cpuByRole[role] = round((after[role] - before[role]) / size * 1e8);
        cpu += after[role] - before[role];
      }
      const seconds = (got.last - got.first) / 1000;
      if (result.firstByteMs === undefined) result.firstByteMs = Math.round(got.first - clientStarted);
      return {
        bytes: got.bytes,
        intact: got.intact,
        mbPerSecond: round(seconds > 0 ? got.bytes / 1e6 / seconds : 0),
        cpuPer100MB: round(cpu / size * 1e8),
        cpuByRole,
        stallMs: got.stallMs,
      };
    };
    // The stand-in ORPort sees the connection once the first bytes cross: start the download from its side.
    const orSide = () => orConn!;
    orConn = await Promise.race([
      accepted,
      // Go's client opens the smux stream at once; a first byte up makes sure either client does.
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no ORPort connection")), 60_000)),
    ]);
    result.down = await phase(orSide, () => socks!, options.down);
    if (!result.down.intact) throw new Error(`download not intact: ${JSON.stringify(result.down)}`);
    result.up = await phase(() => socks!, orSide, options.up);
    if (!result.up.intact) throw new Error(`upload not intact: ${JSON.stringify(result.up)}`);
    if (options.killDown > 0) {
      let killed = false;
      const meter = await readMeter([...proxies]);
      result.kill = await phase(orSide, () => socks!, options.killDown, async (got) => {
        if (killed || got < options.killDown / 4) return;
        killed = true;
        const busy = await meter.busiest();
        deadProxyCpu += cpuSeconds(busy.pid);
        busy.kill("SIGKILL");
        proxies.splice(proxies.indexOf(busy), 1);
        addProxy();
      });
      if (!result.kill.intact) {
        throw new Error(`download with a proxy killed not intact: ${JSON.stringify(result.kill)}`);
      }
    }
    return result;
  } catch (error) {
    const clientLog = await Deno.readTextFile(`${dir}/client.log`).catch(() => "");
    result.error = `${error}\n${
      procs.map((p, i) => `process ${i}:\n${p.out().slice(-3000)}\n${p.err().slice(-3000)}`).join("\n")
    }\nclient log:\n${clientLog.slice(-5000)}`;
    return result;
  } finally {
    try {
      socks?.close();
    } catch { /* closed */ }
    try {
      orConn?.close();
    } catch { /* closed */ }
    orListener.close();
    for (const proc of procs.reverse()) await proc.stop();
    if (stopBroker) await stopBroker();
    await Deno.remove(dir, { recursive: true });
  }
}

function managedEnv(dir: string): Record<string, string> {
  return {
    TOR_PT_MANAGED_TRANSPORT_VER: "1",
    TOR_PT_CLIENT_TRANSPORTS: "snowflake",
    TOR_PT_STATE_LOCATION: `${dir}/client-state`,
    TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.main) {
  const options = JSON.parse(Deno.args[0]) as CellOptions;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<CellResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ client: options.client, proxy: options.proxy, error: `over ${options.budgetMs} ms` }),
      options.budgetMs,
    );
  });
  const result = await Promise.race([runCell(options), timeout]);
  clearTimeout(timer);
  console.log(JSON.stringify(result));
  Deno.exit(0);
}
