/**
 * Test and bench helper: a whole Snowflake deployment inside a network
 * namespace this helper creates (tests/util/netns.ts: 192.0.2.1/.2 on a veth
 * pair, nothing leaves the machine): our server (plain ws://) in front of a
 * stand-in ORPort, our broker (unknown-NAT matching: Go proxies cannot probe
 * their NAT type here), a test STUN server, any number of proxies (Debian's
 * `snowflake-proxy` 2.5.1, or ours: `cli/main.ts proxy`), and a PT client (ours, `cli/main.ts client`, or Debian's
 * `snowflake-client`) started as tor starts it (managed, TOR_PT_*). The two
 * ends, SOCKS and ORPort, are tests/client/fixtures/transfer_ends.ts.
 */

import { type BrokerProcess, startNetnsBroker, TEST_BRIDGE_FINGERPRINT } from "../broker/broker_process.ts";
import { errorMessage } from "../../lib/util/errors.ts";
import { createNetns, deleteNetns, run } from "../util/netns.ts";
import { type Proc, spawnIn } from "../util/netns_process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
// The namespace is ours: fixed ports are free.
const SERVER_PORT = 9902;
export const CHAIN_OR_PORT = 9903;
/**
 * tests/support/stun_server.ts answers here (RFC 5780, with 192.0.2.3 as its other address): ICE gathering ends at
 * once (an unanswered STUN server costs pion 5 s per offer and answer) and clients find their NAT `unrestricted`.
 */
export const CHAIN_STUN = "stun:192.0.2.1:3478";

export type ClientKind = "ours" | "go";
export type ProxyKind = "ours" | "go";

export interface TransferResult {
  error?: string;
  upBytes: number;
  downBytes: number;
  upSentSha256: string;
  upSha256: string;
  downSentSha256: string;
  downSha256: string;
  ttfbMs: number;
  upMs: number;
  downMs: number;
  upMaxGapMs: number;
  downMaxGapMs: number;
}

export interface Transfer {
  proc: Proc;
  /** Resolves when the downstream has received at least `bytes` (or rejects if the transfer ends first). */
  downReached(bytes: number): Promise<void>;
  result: Promise<TransferResult>;
}

export interface ClientChain {
  netns: string;
  dir: string;
  brokerUrl: string;
  broker: BrokerProcess;
  proxies: Proc[];
  client: Proc;
  socksPort: number;
  /** The bridge line's arguments, as tor passes them in the SOCKS credentials. */
  ptArgs: string;
  /** Starts one more proxy (of the chain's kind). */
  startProxy(): Proc;
  /** The live proxy that used the most CPU over `sampleMs` (the one carrying a transfer). */
  busyProxy(sampleMs?: number): Promise<Proc>;
  /** SIGKILLs `proxy` (a proxy that vanishes without a goodbye) and waits for it to be gone. */
  killProxy(proxy: Proc): Promise<void>;
  /** Resolves once the broker has `n` proxies waiting (polled through its /debug page). */
  waitForIdleProxies(n: number, deadline: number): Promise<void>;
  /** Runs the two ends: `up` bytes from the SOCKS side, `down` from the ORPort side. */
  transfer(up: number, down: number, timeoutMs: number, ptArgs?: string): Transfer;
  /** Starts `cmd args` in the namespace (stdin piped), stopped with the chain. */
  spawn(cmd: string, args: string[], env?: Record<string, string>): Proc;
  /** Every process's output, for failure messages. */
  logs(): Promise<string>;
  close(): Promise<void>;
}

export interface ClientChainOptions {
  client: ClientKind;
  /** Proxies started at once. Default 1. */
  proxies?: number;
  /** Which proxy program: Debian's snowflake-proxy 2.5.1 ("go", the default) or ours (`cli/main.ts proxy`). */
  proxy?: ProxyKind;
  /** Extra flags for every proxy (e.g. `-capacity 1`, our `-bandwidth-cap`). */
  proxyArgs?: string[];
  /** Extra flags for the client. */
  clientArgs?: string[];
  /** Extra `deno run` flags for our client (e.g. `--cpu-prof`, `--v8-flags=…`). */
  denoFlags?: string[];
  /** Extra environment for the client (e.g. `DENO_CERT` for a test CA). */
  clientEnv?: Record<string, string>;
}

let chainCount = 0;

/** Starts server, broker, proxies and client; tears down what started if any step fails. */
export async function startClientChain(options: ClientChainOptions): Promise<ClientChain> {
  const deadline = Date.now() + 60_000;
  const netns = `sfcl-${Deno.pid}-${chainCount++}`;
  const prefix = `scl${chainCount}`;
  await createNetns(netns, prefix);
  await run("ip", ["netns", "exec", netns, "ip", "addr", "add", "192.0.2.3/24", "dev", `${prefix}0`]);
  const dir = await Deno.makeTempDir();
  const procs: Proc[] = [];
  const proxies: Proc[] = [];
  let broker: BrokerProcess | undefined;
  const logs = async () =>
    [
      `broker:\n${broker?.log.join("\n")}`,
      ...procs.map((p, i) => `process ${i}:\n${p.out()}\n${p.err()}`),
      `client log:\n${await Deno.readTextFile(`${dir}/client.log`).catch(() => "")}`,
    ].join("\n");
  const close = async () => {
    for (const proc of procs.reverse()) await proc.stop();
    if (broker) await broker.stop();
    await deleteNetns(netns);
    await Deno.remove(dir, { recursive: true });
  };
  try {
    const server = spawnIn(netns, Deno.execPath(), [
      "run",
      "-A",
      `${REPO}cli/main.ts`,
      "server",
      "-disable-tls",
      "-listen",
      `192.0.2.1:${SERVER_PORT}`,
      "-orport",
      `127.0.0.1:${CHAIN_OR_PORT}`,
    ]);
    procs.push(server);
    // It serves until its stdin closes (spawnIn pipes it and closes it on stop), so it dies with us.
    const stun = spawnIn(netns, Deno.execPath(), [
      "run",
      "-A",
      "--unstable-net",
      `${REPO}tests/support/stun_server.ts`,
      "--hostnames",
      "192.0.2.1,192.0.2.3",
      "--ports",
      "3478,3479",
      "--until-stdin-closes",
    ]);
    procs.push(stun);
    await stun.waitFor(/^stun:/m, deadline);
    broker = await startNetnsBroker(netns, dir, `ws://192.0.2.1:${SERVER_PORT}/`);
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    await server.waitFor(/listening on port \d+/, deadline);
    const startProxy = () => {
      const proxyCmd = options.proxy === "ours"
        ? [Deno.execPath(), "run", "-A", `${REPO}cli/main.ts`, "proxy"]
        : ["snowflake-proxy"];
      const proxy = spawnIn(netns, proxyCmd[0], [
        ...proxyCmd.slice(1),
        "-broker",
        brokerUrl,
        "-relay",
        `ws://192.0.2.1:${SERVER_PORT}/`,
        "-allowed-relay-hostname-pattern",
        "192.0.2.1$",
        "-allow-non-tls-relay",
        "-stun",
        CHAIN_STUN,
        "-keep-local-addresses",
        ...(options.proxyArgs ?? []),
      ]);
      procs.push(proxy);
      proxies.push(proxy);
      return proxy;
    };
    for (let i = 0; i < (options.proxies ?? 1); i++) startProxy();

    const clientCmd = options.client === "ours"
      ? [Deno.execPath(), "run", "-A", ...(options.denoFlags ?? []), `${REPO}cli/main.ts`, "client"]
      : ["snowflake-client"];
    const client = spawnIn(
      netns,
      clientCmd[0],
      [
        ...clientCmd.slice(1),
        "-keep-local-addresses",
        "-log",
        `${dir}/client.log`,
        ...(options.clientArgs ?? []),
      ],
      {
        TOR_PT_MANAGED_TRANSPORT_VER: "1",
        TOR_PT_CLIENT_TRANSPORTS: "snowflake",
        TOR_PT_STATE_LOCATION: `${dir}/client-state`,
        TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
        ...options.clientEnv,
      },
    );
    procs.push(client);
    await client.waitFor(/^CMETHODS DONE$/m, deadline);
    const cmethod = /^CMETHOD snowflake socks5 127\.0\.0\.1:(\d+)$/m.exec(client.out());
    if (!cmethod) throw new Error(`no CMETHOD line:\n${client.out()}`);
    const ptArgs = `url=${brokerUrl};fingerprint=${TEST_BRIDGE_FINGERPRINT};ice=${CHAIN_STUN}`;

    return {
      netns,
      dir,
      brokerUrl,
      broker,
      proxies,
      client,
      socksPort: Number(cmethod[1]),
      ptArgs,
      startProxy,
      async busyProxy(sampleMs = 500) {
        const cpu = (proc: Proc) => {
          try {
            const stat = Deno.readTextFileSync(`/proc/${proc.child.pid}/stat`).split(") ")[1].split(" ");
            return Number(stat[11]) + Number(stat[12]);
          } catch {
            return NaN; // gone
          }
        };
        const before = proxies.map(cpu);
        await new Promise((resolve) => setTimeout(resolve, sampleMs));
        const used = proxies.map((proc, i) => cpu(proc) - before[i]);
        const busiest = used.reduce(
          (best, n, i) => (n > used[best] || Number.isNaN(used[best]) ? i : best),
          0,
        );
        return proxies[busiest];
      },
      async killProxy(proxy) {
        try {
          proxy.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await proxy.child.status;
      },
      async waitForIdleProxies(n, until) {
        for (;;) {
          const out = await new Deno.Command("ip", {
            args: ["netns", "exec", netns, "curl", "-s", "--max-time", "5", `${brokerUrl}debug`],
            stdout: "piped",
            stderr: "null",
          }).output();
          const match = /current snowflakes available: (\d+)/.exec(new TextDecoder().decode(out.stdout));
          if (match && Number(match[1]) >= n) return;
          if (Date.now() > until) throw new Error(`the broker never had ${n} idle proxies`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
      transfer(up, down, timeoutMs, args = ptArgs) {
        const proc = spawnIn(netns, Deno.execPath(), [
          "run",
          "-A",
          `${REPO}tests/client/fixtures/transfer_ends.ts`,
          String(CHAIN_OR_PORT),
          cmethod[1],
          args,
          String(up),
          String(down),
          String(timeoutMs),
        ]);
        procs.push(proc);
        const until = Date.now() + timeoutMs + 10_000;
        const result = proc.waitFor(/^\{"result":.*\}$/m, until).then((m) => JSON.parse(m[0]).result);
        return {
          proc,
          result,
          async downReached(bytes) {
            for (;;) {
              const lines = proc.out().split("\n").filter((line) => line.startsWith('{"progress"'));
              const last = lines.length ? JSON.parse(lines[lines.length - 1]).progress.down : 0;
              if (last >= bytes) return;
              if (/"result"/.test(proc.out()) || Date.now() > until) {
                throw new Error(`downstream never reached ${bytes} bytes:\n${proc.out()}`);
              }
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          },
        };
      },
      spawn(cmd, args, env) {
        const proc = spawnIn(netns, cmd, args, env);
        procs.push(proc);
        return proc;
      },
      logs,
      close,
    };
  } catch (error) {
    const text = await logs();
    await close();
    throw new Error(`${errorMessage(error)}\n${text}`, { cause: error });
  }
}
