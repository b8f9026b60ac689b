/**
 * Test and bench helper: runs `deno run -A cli/main.ts broker ...` as a
 * subprocess, as an operator would, waits for its "serving ... on port N"
 * line, and stops it with SIGTERM. Optionally inside a network namespace
 * (`ip netns exec NAME`), and with V8 flags (`deno run --v8-flags=...`).
 */

const REPO = new URL("../../", import.meta.url).pathname;

export interface BrokerProcess {
  port: number;
  pid: number;
  /** stderr lines so far. */
  log: string[];
  /** SIGTERM, then the exit status (SIGKILL after 5 s). */
  stop(): Promise<number>;
}

export async function startBroker(
  args: string[],
  options: { netns?: string; v8Flags?: string[] } = {},
): Promise<BrokerProcess> {
  const deno = Deno.execPath();
  const v8 = options.v8Flags?.length ? [`--v8-flags=${options.v8Flags.join(",")}`] : [];
  const argv = ["run", "-A", ...v8, `${REPO}cli/main.ts`, "broker", ...args];
  const command = options.netns
    ? new Deno.Command("ip", {
      args: ["netns", "exec", options.netns, deno, ...argv],
      cwd: REPO,
      stderr: "piped",
      stdout: "null",
      stdin: "null",
    })
    : new Deno.Command(deno, { args: argv, cwd: REPO, stderr: "piped", stdout: "null", stdin: "null" });
  const child = command.spawn();
  const log: string[] = [];
  let resolvePort!: (port: number) => void;
  let rejectPort!: (error: Error) => void;
  const portPromise = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  const pump = (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of lines) {
      buffer += chunk;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        log.push(line);
        const match = / on port (\d+)$/.exec(line);
        if (match) resolvePort(Number(match[1]));
      }
    }
    rejectPort(new Error(`broker exited before listening:\n${log.join("\n")}`));
  })();
  const timeout = setTimeout(() => rejectPort(new Error(`broker did not start:\n${log.join("\n")}`)), 30_000);
  let port: number;
  try {
    port = await portPromise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await pump;
    throw error;
  } finally {
    clearTimeout(timeout);
  }
  return {
    port,
    pid: child.pid,
    log,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const kill = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5_000);
      const status = await child.status;
      clearTimeout(kill);
      await pump;
      return status.code;
    },
  };
}

/** Runs the broker to completion (for flag errors); returns its exit code and stderr. */
export async function runBroker(args: string[]): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}cli/main.ts`, "broker", ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

/** The bridge fingerprint that the namespace tests' bridge lists and clients use. */
export const TEST_BRIDGE_FINGERPRINT = "2B280B23E1107BB62ABFC40DDCC8824814F80A72";

/**
 * A broker for a local deployment inside network namespace `netns` (tests/util/netns.ts), on 192.0.2.1: a bridge
 * list in `dir` mapping {@link TEST_BRIDGE_FINGERPRINT} to `relayUrl`, relays allowed on 192.0.2.1, unknown-NAT
 * matching (Go proxies cannot probe their NAT type there), and a client timeout long enough for a Go proxy's ICE
 * gathering (pion's 5 s STUN timeout) before it answers. `fingerprint` is the bridge's (a real tor bridge's, in
 * the private Tor network tests).
 */
export async function startNetnsBroker(
  netns: string,
  dir: string,
  relayUrl: string,
  extraArgs: string[] = [],
  fingerprint = TEST_BRIDGE_FINGERPRINT,
): Promise<BrokerProcess> {
  await Deno.writeTextFile(
    `${dir}/bridges.json`,
    JSON.stringify({
      displayName: "test",
      webSocketAddress: relayUrl,
      fingerprint,
    }) + "\n",
  );
  return await startBroker([
    "--disable-tls",
    "--addr",
    "192.0.2.1:0",
    "--disable-geoip",
    "--bridge-list-path",
    `${dir}/bridges.json`,
    "--allowed-relay-pattern",
    "192.0.2.1$",
    "--allow-unknown-nat-matching",
    "--client-timeout",
    "20s",
    ...extraArgs,
  ], { netns });
}
