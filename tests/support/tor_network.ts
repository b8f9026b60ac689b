/**
 * A private Tor network on 127.0.0.1 for tests and the demo: one directory
 * authority (keys from tor-gencert; also a relay), two exit relays, a bridge
 * whose ServerTransportPlugin is a given `snowflake` server, and a client tor
 * with UseBridges and a given ClientTransportPlugin. TestingTorNetwork with
 * 20 s voting, so the first usable consensus comes 20–60 s after the start.
 *
 * tor runs plugins by absolute path without a PATH search: callers pass
 * absolute paths (see {@link writeWrapper} for our subcommands). Everything can
 * run inside a network namespace (`netns`), where the Go Snowflake binaries
 * have the veth addresses they need; tor itself only uses 127.0.0.1.
 */

import { type Proc, spawnProcess } from "./process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const VOTING_INTERVAL_S = 20;

export interface TorNetworkOptions {
  /** Working directory (data directories, torrcs, logs); the caller removes it. */
  dir: string;
  netns?: string;
  /** First of the 127.0.0.1 ports used (about 10); in a namespace any fixed ones are free. */
  basePort: number;
  bridge: {
    /** `ServerTransportPlugin snowflake exec <plugin...>`: absolute path and arguments. */
    plugin: string[];
    /** `ServerTransportListenAddr snowflake <addr>`. */
    listen: string;
  };
}

export interface TorClientOptions {
  /**
   * What follows `ClientTransportPlugin snowflake`: `exec <absolute path> <args>` for a managed client, or
   * `socks5 IP:PORT` for one already running (tor then sends the bridge line's arguments as SOCKS credentials).
   */
  transport: string;
  /** The Bridge line's transport arguments (`url=… ice=…`), after the address and fingerprint. */
  bridgeArgs: string;
  /** Any address: Snowflake ignores it. */
  bridgeAddress?: string;
}

export interface TorClient {
  socksPort: number;
  proc: Proc;
  /** Resolves at "Bootstrapped 100%"; returns the ms since the client tor started. */
  bootstrapped(deadline: number): Promise<number>;
  stop(): Promise<void>;
}

export interface TorNetwork {
  bridgeFingerprint: string;
  /** Resolves once the bridge itself has bootstrapped (it holds a consensus with the relays). */
  ready(deadline: number): Promise<void>;
  startClient(options: TorClientOptions): Promise<TorClient>;
  /** Every tor's log so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Writes an executable `#!/bin/sh` wrapper at `path` that runs `deno run -A cli/main.ts <subcommand> "$@"`. */
export async function writeWrapper(
  path: string,
  subcommand: string,
  denoFlags: string[] = [],
): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const deno = [Deno.execPath(), "run", "-A", ...denoFlags, `${REPO}cli/main.ts`, subcommand].map(quote).join(
    " ",
  );
  await Deno.writeTextFile(path, `#!/bin/sh\nexec ${deno} "$@"\n`, { mode: 0o755 });
  return path;
}

async function output(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const result = await child.output();
  const text = new TextDecoder().decode(result.stdout);
  if (!result.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(result.stderr)}`);
  }
  return text;
}

/** The relay identity fingerprint tor makes for `dataDir` (creating its keys). */
async function listFingerprint(dataDir: string): Promise<string> {
  const text = await output("tor", [
    "--list-fingerprint",
    "--DataDirectory",
    dataDir,
    "--ORPort",
    "1",
    "--DirAuthority",
    "dummy 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff",
    "--Log",
    "err stderr",
  ]);
  const match = /([0-9A-F]{4}(?: [0-9A-F]{4}){9})\s*$/m.exec(text);
  if (!match) throw new Error(`tor --list-fingerprint printed no fingerprint: ${text}`);
  return match[1].replaceAll(" ", "");
}

const COMMON = (dataDir: string, dirAuthority: string) => [
  "TestingTorNetwork 1",
  `DataDirectory ${dataDir}`,
  "RunAsDaemon 0",
  "Log notice stdout",
  `Log info file ${dataDir}/info.log`,
  "SafeLogging 0",
  "ShutdownWaitLength 0",
  "AssumeReachable 1",
  `DirAuthority ${dirAuthority}`,
  "TestingV3AuthVotingStartOffset 0",
];

/** Running relays in the newest consensus that tor keeps in `dataDir`. */
async function runningRelays(dataDir: string): Promise<number> {
  let most = 0;
  for (const file of ["cached-consensus", "cached-microdesc-consensus"]) {
    const text = await Deno.readTextFile(`${dataDir}/${file}`).catch(() => "");
    most = Math.max(most, text.split("\n").filter((line) => /^s .*\bRunning\b/.test(line)).length);
  }
  return most;
}

export async function startTorNetwork(options: TorNetworkOptions): Promise<TorNetwork> {
  const { dir, netns, basePort } = options;
  const procs: { name: string; proc: Proc }[] = [];
  const spawnTor = (name: string, torrc: string[]) => {
    const path = `${dir}/${name}.torrc`;
    Deno.writeTextFileSync(path, torrc.join("\n") + "\n");
    const proc = spawnProcess("tor", ["-f", path], { netns });
    procs.push({ name, proc });
    return proc;
  };
  const ports = {
    daOr: basePort,
    daDir: basePort + 1,
    relayOr: [basePort + 2, basePort + 3],
    bridgeOr: basePort + 4,
  };
  const bridgeExtOr = basePort + 5;

  // The authority: v3 keys from tor-gencert, its relay identity from tor.
  const daDir = `${dir}/da`;
  await Deno.mkdir(`${daDir}/keys`, { recursive: true, mode: 0o700 });
  await output("tor-gencert", [
    "--create-identity-key",
    "-m",
    "12",
    "-a",
    `127.0.0.1:${ports.daDir}`,
    "--passphrase-fd",
    "0",
    "-i",
    `${daDir}/keys/authority_identity_key`,
    "-s",
    `${daDir}/keys/authority_signing_key`,
    "-c",
    `${daDir}/keys/authority_certificate`,
  ], "test\n");
  const certificate = await Deno.readTextFile(`${daDir}/keys/authority_certificate`);
  const v3ident = /^fingerprint ([0-9A-F]{40})$/m.exec(certificate)?.[1];
  if (!v3ident) throw new Error(`no fingerprint in the authority certificate:\n${certificate}`);
  const daFingerprint = await listFingerprint(daDir);
  const dirAuthority =
    `da orport=${ports.daOr} no-v2 v3ident=${v3ident} 127.0.0.1:${ports.daDir} ${daFingerprint}`;

  const bridgeDir = `${dir}/bridge`;
  await Deno.mkdir(bridgeDir, { recursive: true, mode: 0o700 });
  const bridgeFingerprint = await listFingerprint(bridgeDir);

  spawnTor("da", [
    ...COMMON(daDir, dirAuthority),
    "Nickname da",
    "Address 127.0.0.1",
    `ORPort 127.0.0.1:${ports.daOr}`,
    `DirPort 127.0.0.1:${ports.daDir}`,
    "SocksPort 0",
    "AuthoritativeDirectory 1",
    "V3AuthoritativeDirectory 1",
    "ContactInfo da@test.invalid",
    "ExitPolicy reject *:*",
    `V3AuthVotingInterval ${VOTING_INTERVAL_S}`,
    "V3AuthVoteDelay 4",
    "V3AuthDistDelay 4",
    `TestingV3AuthInitialVotingInterval ${VOTING_INTERVAL_S}`,
    "TestingV3AuthInitialVoteDelay 4",
    "TestingV3AuthInitialDistDelay 4",
    "V3AuthNIntervalsValid 2",
    "TestingDirAuthVoteExit *",
    "TestingDirAuthVoteGuard *",
    "TestingDirAuthVoteHSDir *",
    "TestingMinExitFlagThreshold 0",
    "AuthDirMaxServersPerAddr 0",
    "TestingAuthDirTimeToLearnReachability 0",
  ]);
  for (const [index, orPort] of ports.relayOr.entries()) {
    spawnTor(`relay${index}`, [
      ...COMMON(`${dir}/relay${index}`, dirAuthority),
      `Nickname relay${index}`,
      "Address 127.0.0.1",
      `ORPort 127.0.0.1:${orPort}`,
      "SocksPort 0",
      "ContactInfo relay@test.invalid",
      "ExitRelay 1",
      "ExitPolicyRejectPrivate 0",
      "ExitPolicyRejectLocalInterfaces 0",
      // Clients count a relay as an exit from its microdescriptor's port summary, which a policy limited to
      // 127.0.0.0/8 summarises as "reject all". Only the network's own client tor uses these exits.
      "ExitPolicy accept *:*",
      // No DNS self-tests (they would query the system's resolver): this network resolves nothing.
      "ServerDNSDetectHijacking 0",
      "ServerDNSAllowBrokenConfig 1",
      "ServerDNSTestAddresses",
    ]);
  }
  const bridge = spawnTor("bridge", [
    ...COMMON(bridgeDir, dirAuthority),
    "Nickname bridge",
    "Address 127.0.0.1",
    "BridgeRelay 1",
    "BridgeDistribution none",
    "PublishServerDescriptor 0",
    `ORPort 127.0.0.1:${ports.bridgeOr}`,
    `ExtORPort 127.0.0.1:${bridgeExtOr}`,
    "SocksPort 0",
    "ExitPolicy reject *:*",
    `ServerTransportPlugin snowflake exec ${options.bridge.plugin.join(" ")}`,
    `ServerTransportListenAddr snowflake ${options.bridge.listen}`,
  ]);

  let clientCount = 0;
  const network: TorNetwork = {
    bridgeFingerprint,
    async ready(deadline) {
      await bridge.waitFor(/Bootstrapped 100%/, deadline);
      // The first consensus may predate the relays' descriptors: a client that gets that one from the bridge
      // waits a long time for the next. So wait until the bridge holds one with all three relays.
      const relays = 1 + ports.relayOr.length;
      while (await runningRelays(bridgeDir) < relays) {
        if (Date.now() > deadline) {
          throw new Error(`the bridge has no consensus with ${relays} running relays`);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    async startClient(client) {
      const index = clientCount++;
      const socksPort = basePort + 6 + index;
      const clientDir = `${dir}/client${index}`;
      await Deno.mkdir(clientDir, { recursive: true, mode: 0o700 });
      const started = Date.now();
      const proc = spawnTor(`client${index}`, [
        ...COMMON(clientDir, dirAuthority),
        `SocksPort 127.0.0.1:${socksPort}`,
        "UseBridges 1",
        `Bridge snowflake ${
          client.bridgeAddress ?? "192.0.2.3:80"
        } ${bridgeFingerprint} ${client.bridgeArgs}`,
        `ClientTransportPlugin snowflake ${client.transport}`,
      ]);
      return {
        socksPort,
        proc,
        async bootstrapped(deadline) {
          await proc.waitFor(/Bootstrapped 100%/, deadline);
          return Date.now() - started;
        },
        stop: () => proc.stop(),
      };
    },
    logs() {
      return procs.map(({ name, proc }) => `--- tor ${name}:\n${proc.out().slice(-6000)}${proc.err()}`).join(
        "\n",
      );
    },
    async stop() {
      for (const { proc } of procs.reverse()) await proc.stop();
    },
  };
  return network;
}
