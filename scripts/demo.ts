/**
 * `deno task demo [--size MB] [--with-tor]`: Snowflake with Turbo Tunnel on
 * this machine, no root and no network. It starts our broker and our server
 * (bridge) in front of a local stand-in for tor's ORPort that serves a file,
 * two proxies and the client, all on 127.0.0.1; downloads the file through the
 * client's SOCKS port with a live progress line; SIGKILLs the proxy carrying
 * the download part-way and starts a fresh one; and ends with a report (bytes,
 * SHA-256 match, longest stall, MB/s) and a clean shutdown of all it started.
 *
 * `--with-tor` (needs Debian's tor): the same through a private Tor network on
 * 127.0.0.1 (tests/support/tor_network.ts): the bridge's ServerTransportPlugin
 * is our server, the client tor reaches it through our client
 * (`ClientTransportPlugin snowflake socks5 …`), and the file comes from a local
 * web server through tor's SocksPort. Tor's 20 s voting makes that part take
 * about a minute before the download starts.
 *
 * Exit status 0 when the file arrived intact.
 */

import { createHash } from "node:crypto";
import { startBroker } from "../tests/broker/broker_process.ts";
import { startFileServer } from "../tests/support/file_server.ts";
import { type Proc, spawnProcess } from "../tests/support/process.ts";
import { socksFetch } from "../tests/support/socks_fetch.ts";
import { startOurServer } from "../tests/support/peers.ts";
import { startStunServer } from "../tests/support/stun_server.ts";
import { startTorNetwork, type TorNetwork, writeWrapper } from "../tests/support/tor_network.ts";
import { errorMessage } from "../lib/util/errors.ts";

const REPO = new URL("../", import.meta.url).pathname;
const KILL_AT = 0.4; // of the file

interface PeerStats {
  bytesToClients?: number;
}

/** A peer subprocess (scripts/demo/peer.ts) and the latest stats it printed. */
interface Peer {
  name: string;
  proc: Proc;
  latest(): PeerStats;
}

function parseArgs(args: string[]): { sizeMb: number; withTor: boolean } {
  let sizeMb = 40;
  let withTor = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--with-tor") withTor = true;
    else if (args[i] === "--size" && Number(args[i + 1]) > 0) sizeMb = Number(args[++i]);
    else {
      console.error("usage: deno task demo [--size MB] [--with-tor]");
      Deno.exit(2);
    }
  }
  return { sizeMb, withTor };
}

function say(line: string) {
  console.log(`demo: ${line}`);
}

/** A run of free TCP ports on 127.0.0.1, for the Tor network's fixed ports. */
function freePortRun(count: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const listeners: Deno.Listener[] = [];
    try {
      for (let i = 0; i < count; i++) listeners.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      return base;
    } catch {
      // taken: try another run
    } finally {
      for (const l of listeners) l.close();
    }
  }
  throw new Error("no run of free ports on 127.0.0.1");
}

/** Ctrl-C ends the download; the demo then stops what it started as on any other ending. */
const interrupted = new AbortController();
Deno.addSignalListener("SIGINT", () => interrupted.abort());

async function main(): Promise<boolean> {
  const { sizeMb, withTor } = parseArgs(Deno.args);
  const size = Math.round(sizeMb * 1e6);
  const dir = await Deno.makeTempDir({ prefix: "snowflake-demo-" });
  const procs: Proc[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    // The file, and a web server for it: the ORPort stand-in, or the web site behind the Tor network.
    const file = new Uint8Array(size);
    for (let off = 0; off < size; off += 65536) crypto.getRandomValues(file.subarray(off, off + 65536));
    await Deno.writeFile(`${dir}/file.bin`, file);
    const expected = createHash("sha256").update(file).digest("hex");
    const web = startFileServer(`${dir}/file.bin`);
    cleanups.push(() => web.stop());
    say(`${sizeMb} MB file served on 127.0.0.1:${web.port} (sha256 ${expected.slice(0, 16)}…)`);

    let network: TorNetwork | undefined;
    let relay: string;
    let fingerprint = "2B280B23E1107BB62ABFC40DDCC8824814F80A72"; // the broker's default bridge
    if (withTor) {
      const basePort = freePortRun(8);
      const serverPort = basePort + 7;
      network = await startTorNetwork({
        dir,
        basePort,
        bridge: {
          plugin: [await writeWrapper(`${dir}/snowflake-server`, "server"), "-disable-tls"],
          listen: `127.0.0.1:${serverPort}`,
        },
      });
      const started = network;
      cleanups.push(() => started.stop());
      relay = `ws://127.0.0.1:${serverPort}/`;
      fingerprint = network.bridgeFingerprint;
      say(`private Tor network: a directory authority, two exits, a bridge running our server on ${relay}`);
    } else {
      const server = startOurServer("127.0.0.1:0", web.port);
      procs.push(server);
      const port = (await server.waitFor(/listening on port (\d+)/, Date.now() + 30_000))[1];
      relay = `ws://127.0.0.1:${port}/`;
      say(`server (bridge) on ${relay}, in front of the stand-in ORPort`);
    }

    await Deno.writeTextFile(
      `${dir}/bridges.json`,
      JSON.stringify({ displayName: "demo", webSocketAddress: relay, fingerprint }) + "\n",
    );
    const broker = await startBroker([
      "--disable-tls",
      "--addr",
      "127.0.0.1:0",
      "--disable-geoip",
      "--bridge-list-path",
      `${dir}/bridges.json`,
      "--allowed-relay-pattern",
      "127.0.0.1$",
      "--allow-unknown-nat-matching",
    ]);
    cleanups.push(() => broker.stop());
    const brokerUrl = `http://127.0.0.1:${broker.port}/`;
    say(`broker on ${brokerUrl}`);
    // An RFC 5780 STUN server on 127.0.0.1 and 127.0.0.2: the peers learn their NAT type, and ICE gathering
    // ends at once instead of waiting out an unanswered STUN request.
    const stun = await startStunServer();
    cleanups.push(() => Promise.resolve(stun.close()));
    say(`STUN server on ${stun.url}`);

    let peerCount = 0;
    const startPeer = async (role: "proxy" | "client", ...args: string[]): Promise<Peer> => {
      const proc = spawnProcess(
        Deno.execPath(),
        ["run", "-A", `${REPO}scripts/demo/peer.ts`, role, ...args],
        {
          stdin: true,
        },
      );
      procs.push(proc);
      await proc.waitFor(/^\{"ready"/m, Date.now() + 30_000);
      const name = role === "proxy" ? `proxy ${String.fromCharCode(65 + peerCount++)}` : "client";
      return {
        name,
        proc,
        latest() {
          const line = proc.out().trimEnd().split("\n").findLast((l) => l.startsWith('{"stats"'));
          return line ? JSON.parse(line).stats : {};
        },
      };
    };
    const proxies = [
      await startPeer("proxy", stun.url, brokerUrl, relay),
      await startPeer("proxy", stun.url, brokerUrl, relay),
    ];
    say(`${proxies.map((p) => p.name).join(" and ")} polling the broker`);
    const client = await startPeer("client", stun.url, brokerUrl);
    const clientSocks = Number(/"socksPort":(\d+)/.exec(client.proc.out())![1]);
    say(`client: SOCKS5 on 127.0.0.1:${clientSocks}`);

    let socksPort = clientSocks;
    if (network) {
      say("waiting for the Tor network's consensus (20 s voting)…");
      await network.ready(Date.now() + 150_000);
      const tor = await network.startClient({
        transport: `socks5 127.0.0.1:${clientSocks}`,
        bridgeArgs: `fingerprint=${fingerprint} url=${brokerUrl}`,
      });
      const ms = await tor.bootstrapped(Date.now() + 120_000);
      say(`client tor bootstrapped to 100 % through Snowflake in ${(ms / 1000).toFixed(1)} s`);
      socksPort = tor.socksPort;
    }

    // Download, with the busy proxy killed part-way and a fresh one started.
    let killedAt = 0;
    let killing = false;
    const isTty = Deno.stdout.isTerminal();
    const started = performance.now();
    let last = 0;
    const progress = (bytes: number) => {
      const now = performance.now();
      const rate = bytes / 1e6 / Math.max(0.001, (now - started) / 1000);
      const carrying = proxies.map((p) =>
        `${p.name} ${((p.latest().bytesToClients ?? 0) / 1e6).toFixed(1)} MB`
      );
      const line = `${(bytes / 1e6).toFixed(1)} / ${sizeMb} MB  ${rate.toFixed(1)} MB/s  [${
        carrying.join(", ")
      }]`;
      if (isTty) Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[K  ${line}`));
      else if (now - last > 1000) console.log(`  ${line}`);
      last = now;
      if (!killing && bytes >= size * KILL_AT) {
        killing = true;
        const busy = proxies.reduce((a, b) =>
          (b.latest().bytesToClients ?? 0) > (a.latest().bytesToClients ?? 0) ? b : a
        );
        busy.proc.kill("SIGKILL");
        proxies.splice(proxies.indexOf(busy), 1);
        killedAt = bytes;
        if (isTty) console.log("");
        say(`${busy.name} SIGKILLed at ${(bytes / 1e6).toFixed(1)} MB; starting a fresh proxy`);
        startPeer("proxy", stun.url, brokerUrl, relay).then((p) => {
          proxies.push(p);
          say(`${p.name} polling`);
        }).catch((error) => say(`fresh proxy failed: ${errorMessage(error)}`));
      }
    };
    const result = await socksFetch({
      socksPort,
      url: `http://127.0.0.1:${web.port}/file.bin`,
      onProgress: progress,
      progressMs: 100,
      signal: AbortSignal.any([
        interrupted.signal,
        AbortSignal.timeout(Number(Deno.env.get("SNOWFLAKE_DEMO_TIMEOUT_MS") ?? 300_000)),
      ]),
    });
    if (isTty) console.log("");
    const intact = result.bytes === size && result.sha256 === expected;
    console.log("");
    console.log("demo report");
    console.log(`  bytes received   ${result.bytes} of ${size}`);
    console.log(`  sha256           ${intact ? "match" : `MISMATCH (${result.sha256})`}`);
    console.log(`  proxy killed at  ${killedAt ? `${(killedAt / 1e6).toFixed(1)} MB` : "(not reached)"}`);
    console.log(`  longest stall    ${(result.stallMs / 1000).toFixed(1)} s`);
    console.log(`  time to 1st byte ${(result.firstByteMs / 1000).toFixed(1)} s`);
    console.log(
      `  rate             ${result.mbPerSecond.toFixed(2)} MB/s (first byte to last, stall included)`,
    );
    console.log(
      `  path             ${withTor ? "tor → " : ""}client → proxy → server → ${
        withTor ? "bridge tor → relays → web server" : "stand-in ORPort"
      }`,
    );
    return intact && killedAt > 0;
  } catch (error) {
    if (Deno.env.get("SNOWFLAKE_DEMO_VERBOSE") === "1") {
      for (const proc of procs) console.error(`--- pid ${proc.pid}:\n${proc.err().slice(-5000)}`);
    }
    throw error;
  } finally {
    for (const proc of procs.reverse()) await proc.stop();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await Deno.remove(dir, { recursive: true });
    say("everything stopped");
  }
}

try {
  Deno.exit(await main() ? 0 : 1);
} catch (error) {
  console.error(`demo: failed: ${errorMessage(error)}`);
  Deno.exit(1);
}
