/**
 * Test and bench helper: the whole Snowflake path in a network namespace of
 * its own (tests/util/netns.ts), with a chosen proxy in the middle: Debian's
 * `snowflake-client` 2.5.1 (driven as tor drives a PT client) → the proxy
 * (ours, `cli/main.ts proxy`, or Debian's `snowflake-proxy`) → our broker →
 * our server (plain ws://) → a stand-in ORPort (tests/e2e/fixtures/chain_ends.ts).
 * No STUN server answers there, so NAT types are `unknown` and the broker runs
 * with `--allow-unknown-nat-matching`.
 */

import { errorMessage } from "../../lib/util/errors.ts";
import { type BrokerProcess, startNetnsBroker, TEST_BRIDGE_FINGERPRINT } from "../broker/broker_process.ts";
import { createNetns, deleteNetns } from "../util/netns.ts";
import { type Proc, spawnIn } from "../util/netns_process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
// Nothing listens here: STUN fails fast and the NAT type is `unknown`.
export const CHAIN_STUN = "stun:192.0.2.1:3478";

export type ProxyKind = "ours" | "go";

/** What chain_ends.ts prints. */
export interface TransferResult {
  error?: string;
  upBytes: number;
  upSha256: string;
  downBytes: number;
  downSha256: string;
  /** First to last byte at the ORPort / SOCKS end, ms. */
  upMs: number;
  downMs: number;
}

export interface Chain {
  netns: string;
  dir: string;
  brokerUrl: string;
  serverPort: number;
  /** The stand-in ORPort the server dials (127.0.0.1 inside the namespace). */
  orPort: number;
  /** The bridge line's arguments, as tor passes them in the SOCKS credentials. */
  ptArgs: string;
  proxy: Proc;
  server: Proc;
  broker: BrokerProcess;
  /** Every process's output so far, for assertion messages. */
  logs(): string;
  /** One Go client (a fresh process: Go 2.5.1 wants a fresh proxy per SOCKS connection) sends `up` and gets `down`. */
  transfer(up: Uint8Array, down: Uint8Array, deadline: number): Promise<TransferResult>;
  /** A Go client process and its SOCKS port, once it reported CMETHODS DONE; stop it when done. */
  startClient(deadline: number): Promise<{ client: Proc; socksPort: number; log: string }>;
  /** Stops everything and removes the namespace and the temporary directory. */
  stop(): Promise<void>;
}

/** Our proxy's command line in the chain (`extra` appended; `denoFlags` before the script, e.g. for profiling). */
export function ourProxyArgs(
  brokerUrl: string,
  relayUrl: string,
  extra: string[] = [],
  denoFlags: string[] = [],
): string[] {
  return [
    "run",
    "-A",
    ...denoFlags,
    `${REPO}cli/main.ts`,
    "proxy",
    ...chainProxyFlags(brokerUrl, relayUrl),
    ...extra,
  ];
}

function chainProxyFlags(brokerUrl: string, relayUrl: string): string[] {
  return [
    "-broker",
    brokerUrl,
    "-relay",
    relayUrl,
    "-allowed-relay-hostname-pattern",
    "192.0.2.1$",
    "-allow-non-tls-relay",
    "-stun",
    CHAIN_STUN,
    "-keep-local-addresses",
  ];
}

export async function startChain(
  kind: ProxyKind,
  options: { name: string; proxyArgs?: string[]; denoFlags?: string[]; deadline: number },
): Promise<Chain> {
  const netns = `${options.name}-${Deno.pid}`;
  await createNetns(netns, "sfp");
  const dir = await Deno.makeTempDir();
  const procs: Proc[] = [];
  let broker: BrokerProcess | undefined;
  const orPort = 20_000 + Math.floor(Math.random() * 40_000);
  const logs = () =>
    [`broker:\n${broker?.log.join("\n")}`, ...procs.map((p, i) => `process ${i}:\n${p.out()}\n${p.err()}`)]
      .join(
        "\n",
      );
  const stop = async () => {
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
      "192.0.2.1:0",
      "-orport",
      `127.0.0.1:${orPort}`,
    ]);
    procs.push(server);
    const listening = await server.waitFor(/listening on port (\d+)/, options.deadline);
    const serverPort = Number(listening[1]);
    const relayUrl = `ws://192.0.2.1:${serverPort}/`;
    broker = await startNetnsBroker(netns, dir, relayUrl);
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    const proxy = kind === "ours"
      ? spawnIn(
        netns,
        Deno.execPath(),
        ourProxyArgs(brokerUrl, relayUrl, options.proxyArgs, options.denoFlags),
      )
      : spawnIn(netns, "snowflake-proxy", [
        ...chainProxyFlags(brokerUrl, relayUrl),
        ...options.proxyArgs ?? [],
      ]);
    procs.push(proxy);
    const chainBroker = broker;
    const ptArgs = `url=${brokerUrl};fingerprint=${TEST_BRIDGE_FINGERPRINT};ice=${CHAIN_STUN}`;
    const startClient = async (deadline: number) => {
      const tag = crypto.randomUUID().slice(0, 8);
      const log = `${dir}/client-${tag}.log`;
      const client = spawnIn(netns, "snowflake-client", ["-keep-local-addresses", "-log", log], {
        TOR_PT_MANAGED_TRANSPORT_VER: "1",
        TOR_PT_CLIENT_TRANSPORTS: "snowflake",
        TOR_PT_STATE_LOCATION: `${dir}/client-state-${tag}`,
        TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
      });
      procs.push(client);
      try {
        await client.waitFor(/^CMETHODS DONE$/m, deadline);
        const cmethod = /^CMETHOD snowflake socks5 127\.0\.0\.1:(\d+)$/m.exec(client.out());
        if (!cmethod) throw new Error(`no CMETHOD line:\n${client.out()}`);
        return { client, socksPort: Number(cmethod[1]), log };
      } catch (error) {
        await client.stop();
        throw error;
      }
    };
    return {
      netns,
      dir,
      brokerUrl,
      serverPort,
      orPort,
      ptArgs,
      proxy,
      server,
      broker: chainBroker,
      logs,
      stop,
      startClient,
      async transfer(up, down, deadline) {
        const tag = crypto.randomUUID().slice(0, 8);
        await Deno.writeFile(`${dir}/up-${tag}.bin`, up);
        await Deno.writeFile(`${dir}/down-${tag}.bin`, down);
        const { client, socksPort, log } = await startClient(deadline);
        try {
          const ends = spawnIn(netns, Deno.execPath(), [
            "run",
            "-A",
            `${REPO}tests/e2e/fixtures/chain_ends.ts`,
            String(orPort),
            String(socksPort),
            ptArgs,
            `${dir}/up-${tag}.bin`,
            `${dir}/down-${tag}.bin`,
            String(Math.max(1_000, deadline - Date.now())),
          ]);
          try {
            const line = await ends.waitFor(/^\{.*\}$/m, deadline + 5_000);
            const result = JSON.parse(line[0]) as TransferResult;
            if (result.error) {
              result.error += `\nclient log:\n${await Deno.readTextFile(log).catch(() => "")}`;
            }
            return result;
          } finally {
            await ends.stop();
          }
        } finally {
          await client.stop();
          await Deno.remove(`${dir}/up-${tag}.bin`);
          await Deno.remove(`${dir}/down-${tag}.bin`);
        }
      },
    };
  } catch (error) {
    const message = `${errorMessage(error)}\n${logs()}`;
    await stop();
    throw new Error(message, { cause: error });
  }
}
