/**
 * Interop: Debian's Go `snowflake-proxy` 2.5.1 polls our broker, receives a
 * test client's real WebRTC offer, and its answer reaches the client, which
 * then opens a DataChannel to it and gets a message echoed back through the
 * proxy and a WebSocket relay that the client fixture runs. Everything runs in a network namespace this
 * test creates (a veth pair with 192.0.2.1 and 192.0.2.2: the proxy needs a
 * non-loopback address for ICE). The proxy's NAT probe and STUN server are
 * unreachable there, so it reports `unknown`, and the broker runs with
 * `--allow-unknown-nat-matching` so the unknown client can have it.
 */
import assert from "node:assert/strict";
import { createNetns, deleteNetns } from "../util/netns.ts";
import { startNetnsBroker } from "./broker_process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const RELAY_PORT = 9901;

Deno.test("interop: Debian snowflake-proxy 2.5.1 ⇄ our broker ⇄ a WebRTC client, in a network namespace", async () => {
  const netns = `sfbroker-${Deno.pid}`;
  await createNetns(netns, "sfb");
  const dir = await Deno.makeTempDir();
  let proxy: Deno.ChildProcess | undefined;
  let proxyLog = "";
  let broker;
  try {
    // The relay is the client fixture's WebSocket echo server (the namespace is ours: any fixed port is free).
    broker = await startNetnsBroker(netns, dir, `ws://192.0.2.1:${RELAY_PORT}/`, ["--unsafe-logging"]);
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    proxy = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        "snowflake-proxy",
        "-broker",
        brokerUrl,
        "-allowed-relay-hostname-pattern",
        "192.0.2.1$",
        "-allow-non-tls-relay",
        "-stun",
        "stun:192.0.2.1:3478",
        "-keep-local-addresses",
        "-unsafe-logging",
        "-verbose",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const proxyStderr = (async () => {
      for await (const chunk of proxy!.stderr.pipeThrough(new TextDecoderStream())) proxyLog += chunk;
    })();

    const client = await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        Deno.execPath(),
        "run",
        "-A",
        `${REPO}tests/broker/fixtures/offer_client.ts`,
        brokerUrl,
        "192.0.2.1",
        String(RELAY_PORT),
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(client.stdout).trim();
    const context = `client: ${stdout}\n${
      new TextDecoder().decode(client.stderr)
    }\nproxy:\n${proxyLog}\nbroker:\n${broker.log.join("\n")}`;
    const result = JSON.parse(stdout.split("\n").at(-1) ?? "{}");
    assert.equal(result.error, undefined, context);
    const answer = JSON.parse(result.answer);
    assert.equal(answer.type, "answer", context);
    assert.match(answer.sdp, /^v=0\r\n/, context);
    assert.match(answer.sdp, /a=candidate:.* 192\.0\.2\.\d+ /, context);
    assert.equal(result.channelOpened, true, context);
    assert.equal(result.echoed, true, context);

    proxy.kill("SIGTERM");
    await proxy.status;
    await proxyStderr;
    proxy = undefined;
    assert.match(proxyLog, /NAT type: unknown|Proxy starting/, proxyLog);
  } finally {
    if (proxy) {
      try {
        proxy.kill("SIGKILL");
      } catch { /* gone */ }
      await proxy.status;
      await proxy.stderr.cancel().catch(() => {});
    }
    if (broker) await broker.stop();
    await deleteNetns(netns);
    await Deno.remove(dir, { recursive: true });
  }
});
