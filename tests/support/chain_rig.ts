/**
 * Test and bench helper: a whole Snowflake deployment inside a network
 * namespace this helper creates (tests/util/netns.ts: 192.0.2.1/.2 on a veth
 * pair, nothing leaves the machine): our server (plain ws://) in front of a
 * stand-in ORPort, our broker (unknown-NAT matching: Go proxies cannot probe
 * their NAT type here), optionally a test STUN server, any number of proxies
 * (Debian's `snowflake-proxy` 2.5.1, or ours: `cli/main.ts proxy`, with the Go
 * proxy's flags) and PT clients (ours, `cli/main.ts client`, or Debian's
 * `snowflake-client` 2.5.1) started as tor starts them (managed, TOR_PT_*).
 * The two ends of a transfer, SOCKS and ORPort, are
 * tests/client/fixtures/transfer_ends.ts.
 *
 * tests/support/client_chain.ts starts one client with the chain;
 * tests/proxy/go_client_chain.ts starts a fresh Go client per transfer.
 */

import { type BrokerProcess, startNetnsBroker, TEST_BRIDGE_FINGERPRINT } from "../broker/broker_process.ts";
import { errorMessage } from "../../lib/util/errors.ts";
import { createNetns, deleteNetns, run } from "../util/netns.ts";
import { type Proc, spawnIn } from "../util/netns_process.ts";
import { cpuSeconds, type Impl, proxyCommand, startOurServer } from "./peers.ts";

const REPO = new URL("../../", import.meta.url).pathname;
// The namespace is ours: fixed ports are free.
const SERVER_PORT = 9902;
export const CHAIN_OR_PORT = 9903;
/**
 * With `stunServer` (the default) tests/support/stun_server.ts answers here (RFC 5780, with 192.0.2.3 as its
 * other address): ICE gathering ends at once and clients find their NAT `unrestricted`. Without it nothing
 * answers (the ICMP port-unreachable never reaches pion's unconnected UDP socket): each ICE gathering, offer
 * and answer, waits out pion's 5 s srflx timeout, and every NAT type is `unknown`.
 */
export const CHAIN_STUN = "stun:192.0.2.1:3478";

export type ClientKind = Impl;
export type ProxyKind = Impl;

/** What transfer_ends.ts reports. */
export interface TransferResult {
  error?: string;
  upBytes: number;
  downBytes: number;
  upSentSha256: string;
  upSha256: string;
  downSentSha256: string;
  downSha256: string;
  ttfbMs: number;
  /** First to last byte at the ORPort / SOCKS end, ms. */
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

/** What one direction of a transfer sends: that many random bytes, or these bytes. */
export type TransferData = number | Uint8Array;

export interface ChainClient {
  client: Proc;
  socksPort: number;
  /** The client's `-log` file. */
  log: string;
}

export interface ClientOptions {
  /** Names its log (`DIR/NAME.log`) and state directory. Default `client-` and a random tag. */
  name?: string;
  /** Extra flags for the client. */
  args?: string[];
  /** Extra `deno run` flags for ours (e.g. `--cpu-prof`, `--v8-flags=…`). */
  denoFlags?: string[];
  /** Extra environment (e.g. `DENO_CERT` for a test CA). */
  env?: Record<string, string>;
}

export interface ChainRig {
  netns: string;
  dir: string;
  brokerUrl: string;
  relayUrl: string;
  broker: BrokerProcess;
  server: Proc;
  serverPort: number;
  /** The stand-in ORPort the server dials (127.0.0.1 inside the namespace). */
  orPort: number;
  proxies: Proc[];
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
  /** A managed PT client, once it reported CMETHODS DONE (stopped with the chain, or earlier by the caller). */
  startClient(kind: ClientKind, deadline: number, options?: ClientOptions): Promise<ChainClient>;
  /** Runs the two ends over the client at `socksPort`: `up` from the SOCKS side, `down` from the ORPort side. */
  transferVia(
    socksPort: number,
    up: TransferData,
    down: TransferData,
    timeoutMs: number,
    ptArgs?: string,
  ): Transfer;
  /** Starts `cmd args` in the namespace (stdin piped), stopped with the chain. */
  spawn(cmd: string, args: string[], env?: Record<string, string>): Proc;
  /** Every process's output and every client's log, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

export interface ChainRigOptions {
  /** Proxies started at once. Default 1. */
  proxies?: number;
  /** Extra flags for our server. */
  serverArgs?: string[];
  /** Which proxy program: Debian's snowflake-proxy 2.5.1 ("go", the default) or ours (`cli/main.ts proxy`). */
  proxy?: ProxyKind;
  /** Extra flags for every proxy (e.g. `-capacity 1`, `-summary-interval 0s`). */
  proxyArgs?: string[];
  /** For our proxies: `deno run` flags before the script (e.g. `--cpu-prof`). */
  proxyDenoFlags?: string[];
  /** Run the test STUN server at {@link CHAIN_STUN}. Default true. */
  stunServer?: boolean;
  /** The namespace's name starts with this. Default `sfcl`. */
  name?: string;
  /** For the start. Default 60 s from now. */
  deadline?: number;
}

let chainCount = 0;

/** Starts server, broker, STUN server and proxies; tears down what started if any step fails. */
export async function startChainRig(options: ChainRigOptions = {}): Promise<ChainRig> {
  const deadline = options.deadline ?? Date.now() + 60_000;
  const netns = `${options.name ?? "sfcl"}-${Deno.pid}-${chainCount++}`;
  const prefix = "scl";
  await createNetns(netns, prefix);
  const dir = await Deno.makeTempDir();
  const procs: Proc[] = [];
  const proxies: Proc[] = [];
  const clientLogs: string[] = [];
  let broker: BrokerProcess | undefined;
  const logs = () =>
    [
      `broker:\n${broker?.log.join("\n")}`,
      ...procs.map((p, i) => `process ${i}:\n${p.out()}\n${p.err()}`),
      ...clientLogs.map((log) => `${log}:\n${readOrEmpty(log)}`),
    ].join("\n");
  const close = async () => {
    for (const proc of procs.reverse()) await proc.stop();
    if (broker) await broker.stop();
    await deleteNetns(netns);
    await Deno.remove(dir, { recursive: true });
  };
  const spawn = (cmd: string, args: string[], env?: Record<string, string>) => {
    const proc = spawnIn(netns, cmd, args, env);
    procs.push(proc);
    return proc;
  };
  try {
    const server = startOurServer(`192.0.2.1:${SERVER_PORT}`, CHAIN_OR_PORT, {
      netns,
      args: options.serverArgs,
    });
    procs.push(server);
    if (options.stunServer ?? true) {
      await run("ip", ["netns", "exec", netns, "ip", "addr", "add", "192.0.2.3/24", "dev", `${prefix}0`]);
      // It serves until its stdin closes (spawnIn pipes it and closes it on stop), so it dies with us.
      const stun = spawn(Deno.execPath(), [
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
      await stun.waitFor(/^stun:/m, deadline);
    }
    const relayUrl = `ws://192.0.2.1:${SERVER_PORT}/`;
    broker = await startNetnsBroker(netns, dir, relayUrl);
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    await server.waitFor(/listening on port \d+/, deadline);
    const startProxy = () => {
      const [cmd, args] = proxyCommand(options.proxy ?? "go", {
        broker: brokerUrl,
        relay: relayUrl,
        stun: CHAIN_STUN,
        extraArgs: options.proxyArgs,
        denoFlags: options.proxyDenoFlags,
      });
      const proxy = spawn(cmd, args);
      proxies.push(proxy);
      return proxy;
    };
    for (let i = 0; i < (options.proxies ?? 1); i++) startProxy();
    const ptArgs = `url=${brokerUrl};fingerprint=${TEST_BRIDGE_FINGERPRINT};ice=${CHAIN_STUN}`;

    return {
      netns,
      dir,
      brokerUrl,
      relayUrl,
      broker,
      server,
      serverPort: SERVER_PORT,
      orPort: CHAIN_OR_PORT,
      proxies,
      ptArgs,
      startProxy,
      async busyProxy(sampleMs = 500) {
        const before = proxies.map((proc) => cpuSeconds(proc.pid));
        await new Promise((resolve) => setTimeout(resolve, sampleMs));
        const used = proxies.map((proc, i) => cpuSeconds(proc.pid) - before[i]); // < 0 once gone
        return proxies[used.indexOf(Math.max(...used))];
      },
      async killProxy(proxy) {
        proxy.kill("SIGKILL");
        await proxy.status;
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
      async startClient(kind, until, clientOptions = {}) {
        const name = clientOptions.name ?? `client-${crypto.randomUUID().slice(0, 8)}`;
        const log = `${dir}/${name}.log`;
        clientLogs.push(log);
        const [cmd, ...args] = kind === "ours"
          ? [Deno.execPath(), "run", "-A", ...(clientOptions.denoFlags ?? []), `${REPO}cli/main.ts`, "client"]
          : ["snowflake-client"];
        const client = spawn(cmd, [
          ...args,
          "-keep-local-addresses",
          "-log",
          log,
          ...(clientOptions.args ?? []),
        ], {
          TOR_PT_MANAGED_TRANSPORT_VER: "1",
          TOR_PT_CLIENT_TRANSPORTS: "snowflake",
          TOR_PT_STATE_LOCATION: `${dir}/${name}-state`,
          TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
          ...clientOptions.env,
        });
        try {
          await client.waitFor(/^CMETHODS DONE$/m, until);
          const cmethod = /^CMETHOD snowflake socks5 127\.0\.0\.1:(\d+)$/m.exec(client.out());
          if (!cmethod) throw new Error(`no CMETHOD line:\n${client.out()}`);
          return { client, socksPort: Number(cmethod[1]), log };
        } catch (error) {
          await client.stop();
          throw error;
        }
      },
      transferVia(socksPort, up, down, timeoutMs, args = ptArgs) {
        const files: string[] = [];
        const side = (data: TransferData, what: string) => {
          if (typeof data === "number") return String(data);
          const file = `${dir}/${what}-${crypto.randomUUID().slice(0, 8)}.bin`;
          Deno.writeFileSync(file, data);
          files.push(file);
          return `@${file}`;
        };
        const proc = spawn(Deno.execPath(), [
          "run",
          "-A",
          `${REPO}tests/client/fixtures/transfer_ends.ts`,
          String(CHAIN_OR_PORT),
          String(socksPort),
          args,
          side(up, "up"),
          side(down, "down"),
          String(timeoutMs),
        ]);
        const until = Date.now() + timeoutMs + 10_000;
        const result = proc.waitFor(/^\{"result":.*\}$/m, until)
          .then((m) => JSON.parse(m[0]).result as TransferResult)
          .finally(() => {
            for (const file of files) Deno.removeSync(file);
          });
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
      spawn,
      logs,
      close,
    };
  } catch (error) {
    const text = logs();
    await close();
    throw new Error(`${errorMessage(error)}\n${text}`, { cause: error });
  }
}

function readOrEmpty(file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch {
    return "";
  }
}
