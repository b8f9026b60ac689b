/**
 * The real-tor scenario of tests/e2e/tor_test.ts: in a network namespace, a
 * private Tor network (tests/support/tor_network.ts) whose bridge runs our
 * `server`, our broker, two proxies and a client tor whose
 * ClientTransportPlugin is a Snowflake client (Go's or ours). The client tor
 * bootstraps through Snowflake, then fetches a file from a local web server
 * through its SocksPort; when a quarter has arrived the busy proxy is
 * SIGKILLed and a fresh one started. Returns what arrived and how long it took.
 */

import { createNetns, deleteNetns } from "../util/netns.ts";
import { type BrokerProcess, startNetnsBroker } from "../broker/broker_process.ts";
import { type Proc, spawnProcess } from "./process.ts";
import { startTorNetwork, type TorNetwork, writeWrapper } from "./tor_network.ts";
import { clientPlugin, type Impl, readMeter, startProxy } from "./peers.ts";
import { createHash } from "node:crypto";
import { errorMessage } from "../../lib/util/errors.ts";
import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname;
// Fixed ports: the namespace is ours.
const SERVER_PORT = 9902;
const WEB_PORT = 9980;
const TOR_BASE_PORT = 9100;
// Nothing answers here: no STUN server runs in the namespace, and the ICMP port-unreachable never
// reaches pion's unconnected UDP socket. So every ICE gathering (each client offer, each proxy answer)
// waits out pion's 5 s srflx timeout (stunGatherTimeout) before it completes, and the NAT tests time
// out too (ours: 5 s a request), leaving NAT types `unknown` (the broker matches them).
const STUN = "stun:192.0.2.1:3478";

export interface TorChainOptions {
  client: Impl;
  proxy: Impl;
  fileSize: number;
  /** The whole scenario, from the first process to the last byte. */
  budgetMs: number;
}

export interface TorChainResult {
  bootstrapMs: number;
  bytes: number;
  sha256: string;
  expectedSha256: string;
  stallMs: number;
  mbPerSecond: number;
  /** Proxies SIGKILLed mid-download. */
  killed: number;
}

/** The tor tests' file: big enough that a proxy dies mid-download. */
const TEST_FILE_SIZE = 3_000_000;
/** The tor tests' budget: tor's 20 s voting puts a usable consensus 40–60 s after the start. */
const TEST_BUDGET_MS = 170_000;

/**
 * The tor tests' case (tests/e2e/tor_test.ts, tests/client/tor_test.ts): the client tor bootstraps, the busy
 * proxy is killed a quarter into the download, and the whole file arrives intact.
 */
export async function checkTorChain(client: Impl, proxy: Impl): Promise<TorChainResult> {
  const result = await runTorChain({ client, proxy, fileSize: TEST_FILE_SIZE, budgetMs: TEST_BUDGET_MS });
  const context = JSON.stringify(result);
  assert.equal(result.killed, 1, context);
  assert.equal(result.bytes, TEST_FILE_SIZE, context);
  assert.equal(result.sha256, result.expectedSha256, context);
  return result;
}

export async function runTorChain(options: TorChainOptions): Promise<TorChainResult> {
  const deadline = Date.now() + options.budgetMs;
  const netns = `sftor-${Deno.pid}`;
  await createNetns(netns, "sft");
  const dir = await Deno.makeTempDir({ prefix: "tor-chain-" });
  const procs: Proc[] = [];
  let broker: BrokerProcess | undefined;
  let network: TorNetwork | undefined;
  const logs = async () =>
    [
      `broker:\n${broker?.log.join("\n")}`,
      ...procs.map((p, i) => `process ${i}:\n${p.out().slice(-4000)}\n${p.err().slice(-4000)}`),
      network?.logs() ?? "",
      `client plugin log:\n${(await Deno.readTextFile(`${dir}/client.log`).catch(() => "")).slice(-6000)}`,
    ].join("\n");
  try {
    const file = crypto.getRandomValues(new Uint8Array(65536));
    const site = new Uint8Array(options.fileSize);
    for (let off = 0; off < site.length; off += file.length) {
      site.set(crypto.getRandomValues(file).subarray(0, site.length - off), off);
    }
    await Deno.writeFile(`${dir}/site.bin`, site);
    const expectedSha256 = createHash("sha256").update(site).digest("hex");

    const web = spawnProcess(Deno.execPath(), [
      "run",
      "-A",
      `${REPO}tests/support/file_server.ts`,
      String(WEB_PORT),
      `${dir}/site.bin`,
    ], { netns });
    procs.push(web);

    const serverPlugin = await writeWrapper(`${dir}/snowflake-server`, "server");
    network = await startTorNetwork({
      dir,
      netns,
      basePort: TOR_BASE_PORT,
      bridge: { plugin: [serverPlugin, "-disable-tls"], listen: `192.0.2.1:${SERVER_PORT}` },
    });
    const relay = `ws://192.0.2.1:${SERVER_PORT}/`;
    broker = await startNetnsBroker(netns, dir, relay, [], network.bridgeFingerprint);
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    const proxies: Proc[] = [];
    const addProxy = () => {
      const proxy = startProxy(options.proxy, { broker: brokerUrl, relay, stun: STUN, netns });
      procs.push(proxy);
      proxies.push(proxy);
    };
    addProxy();
    addProxy();
    await web.waitFor(/listening on port/, deadline);
    await network.ready(deadline);

    const client = await network.startClient({
      transport: `exec ${(await clientPlugin(options.client, dir, `${dir}/client.log`)).join(" ")}`,
      bridgeArgs: `url=${brokerUrl} fingerprint=${network.bridgeFingerprint} ice=${STUN}`,
    });
    const bootstrapMs = await client.bootstrapped(deadline);

    const meter = await readMeter([...proxies], netns);
    const fetch = spawnProcess(Deno.execPath(), [
      "run",
      "-A",
      `${REPO}tests/support/socks_fetch.ts`,
      String(client.socksPort),
      `http://127.0.0.1:${WEB_PORT}/site.bin`,
      String(Math.max(1_000, deadline - Date.now())),
    ], { netns });
    procs.push(fetch);

    // A quarter in, kill the proxy that has read the most and start a fresh one.
    let killed = 0;
    while (Date.now() < deadline) {
      if (/^\{"(bytes|error)"/m.test(fetch.out())) break;
      const progress = [...fetch.out().matchAll(/^\{"progress":(\d+)\}$/gm)].at(-1);
      if (progress && Number(progress[1]) >= options.fileSize / 4) {
        const busy = await meter.busiest();
        busy.kill("SIGKILL");
        proxies.splice(proxies.indexOf(busy), 1);
        addProxy();
        killed++;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const line = await fetch.waitFor(/^\{"(?:bytes|error)".*\}$/m, deadline + 5_000);
    const result = JSON.parse(line[0]);
    if (result.error) throw new Error(`fetch through tor failed: ${result.error}`);
    return {
      bootstrapMs,
      bytes: result.bytes,
      sha256: result.sha256,
      expectedSha256,
      stallMs: result.stallMs,
      mbPerSecond: result.mbPerSecond,
      killed,
    };
  } catch (error) {
    throw new Error(`${errorMessage(error)}\n${await logs()}`, { cause: error });
  } finally {
    for (const proc of procs.reverse()) await proc.stop();
    if (network) await network.stop();
    if (broker) await broker.stop();
    await deleteNetns(netns);
    // SNOWFLAKE_TEST_KEEP=1 keeps the tor data directories and logs for a look.
    if (Deno.env.get("SNOWFLAKE_TEST_KEEP")) console.error(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}
