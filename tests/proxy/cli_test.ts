/**
 * `snowflake proxy` as an operator runs it (a subprocess): Go
 * snowflake-proxy 2.5.1's flags and errors, the summary line, `-log`, the
 * Prometheus endpoint, and `-summary-interval 0s` not spinning a core.
 * The broker is a local HTTP server that answers every poll `no match`.
 */

import assert from "node:assert/strict";
import { processCpuSeconds } from "../../scripts/bench/row.ts";

const REPO = new URL("../../", import.meta.url).pathname;

async function runProxy(args: string[]): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REPO}cli/main.ts`, "proxy", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

/** A broker that answers polls `no match` after `holdMs`, counting them. */
function startNoMatchBroker(holdMs = 200) {
  let polls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    await request.text();
    if (new URL(request.url).pathname === "/proxy") polls++;
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    return new Response('{"Status":"no match","Offer":"","NAT":"","RelayURL":""}');
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, polls: () => polls, stop: () => server.shutdown() };
}

Deno.test("proxy cli: -h lists every Go snowflake-proxy 2.5.1 flag with its default; -version", async () => {
  const help = await runProxy(["-h"]);
  assert.equal(help.code, 0);
  for (
    const flag of [
      "allow-non-tls-relay",
      "allowed-relay-hostname-pattern",
      "broker",
      "capacity",
      "ephemeral-ports-range",
      "keep-local-addresses",
      "log",
      "nat-retest-interval",
      "relay",
      "stun",
      "summary-interval",
      "unsafe-logging",
      "verbose",
      "version",
      "poll-interval",
      "metrics",
      "metrics-address",
      "metrics-port",
      "allow-proxying-to-private-addresses",
      "outbound-address",
      "bandwidth-cap",
    ]
  ) {
    assert.match(help.stderr, new RegExp(`^  -${flag}\\b`, "m"), flag);
  }
  for (
    const shown of [
      '"https://snowflake-broker.torproject.net/"',
      '"wss://snowflake.bamsoftware.com/"',
      '"stun:stun.l.google.com:19302"',
      '"snowflake.torproject.net$"',
      '"24h0m0s"',
      '"1h0m0s"',
      '"5s"',
    ]
  ) {
    assert.ok(help.stderr.includes(`(default ${shown})`), shown);
  }
  const version = await runProxy(["-version"]);
  assert.equal(version.code, 0);
  assert.match(version.stderr, /^snowflake-proxy \d+\.\d+\.\d+/);
});

Deno.test("proxy cli: bad flags are clear errors, exit status non-zero", async () => {
  const cases: [string[], RegExp][] = [
    [["-capacity", "-1"], /-capacity -1: must be >= 0/],
    [["-capacity", "ten"], /invalid value "ten" for flag -capacity/],
    [["-ephemeral-ports-range", "100"], /Bad range port format: 100/],
    [["-ephemeral-ports-range", "0:100"], /Ephemeral port cannot be zero/],
    [["-ephemeral-ports-range", "200:100"], /Invalid port range: min > max/],
    [["-allowed-relay-hostname-pattern", "snowflake.torproject.net"], /must end with \$/],
    [["-relay", "https://x/"], /-relay: relay URL scheme https: is not ws: or wss:/],
    [["-broker", "not a url"], /broker URL "not a url" is not a URL/],
    [["-poll-interval", "1s"], /poll interval 1s is less than 2s/],
    [["-outbound-address", "proxy.example"], /outbound address "proxy.example" is not an IP address/],
    [["-outbound-address", "192.0.2.2", "-keep-local-addresses"], /Cannot keep local address candidates/],
    [["-nope"], /flag provided but not defined: -nope/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runProxy(args);
    assert.notEqual(code, 0, args.join(" "));
    assert.match(stderr, message, args.join(" "));
  }
});

Deno.test("proxy cli: summary line in Go's wording, -log file, metrics, and -summary-interval 0s does not spin", async () => {
  const broker = startNoMatchBroker();
  const dir = await Deno.makeTempDir();
  const start = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}cli/main.ts`, "proxy", "-broker", broker.url, "-stun", "", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  const stopAndRead = async (child: Deno.ChildProcess) => {
    child.kill("SIGTERM");
    const output = await child.output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  try {
    const child = start([
      "-summary-interval",
      "1s",
      "-log",
      `${dir}/proxy.log`,
      "-metrics",
      "-metrics-address",
      "127.0.0.1",
      "-metrics-port",
      "0",
    ]);
    // Wait (bounded) for the metrics endpoint to name its port in the log file.
    let port = 0;
    for (let i = 0; i < 300 && !port; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const log = await Deno.readTextFile(`${dir}/proxy.log`).catch(() => "");
      port = Number(/metrics on port (\d+)/.exec(log)?.[1] ?? 0);
    }
    assert.ok(port > 0, "no metrics port");
    // Wait for a summary and at least two polls.
    for (let i = 0; i < 300; i++) {
      const log = await Deno.readTextFile(`${dir}/proxy.log`);
      if (/In the last/.test(log) && broker.polls() >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const metrics = await (await fetch(`http://127.0.0.1:${port}/internal/metrics`)).text();
    assert.match(metrics, /^tor_snowflake_proxy_connections_total 0$/m);
    assert.match(metrics, /^tor_snowflake_proxy_polls_total\{result="no_match"\} [1-9]\d*$/m);
    assert.match(metrics, /^tor_snowflake_proxy_nat_type\{type="unknown"\} 1$/m);
    assert.match(metrics, /^tor_snowflake_proxy_clients 0$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    const { code, stderr } = await stopAndRead(child);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d Proxy starting$/m);
    assert.match(stderr, /In the last 1s, there were 0 connections\. Traffic Relayed ↑ 0 KB, ↓ 0 KB\./);
    const log = await Deno.readTextFile(`${dir}/proxy.log`);
    assert.match(log, /In the last 1s, there were 0 connections/);
    assert.equal((await Deno.stat(`${dir}/proxy.log`)).mode! & 0o777, 0o600);

    // Go 2.5.1 spins a core with -summary-interval 0s; over 3 s this must use well under one CPU second.
    const idle = start(["-summary-interval", "0s"]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const before = processCpuSeconds(idle.pid);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const used = processCpuSeconds(idle.pid) - before;
    const idleOut = await stopAndRead(idle);
    assert.ok(used < 1, `${used} CPU s in 3 s`);
    assert.doesNotMatch(idleOut.stderr, /In the last/);
  } finally {
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
