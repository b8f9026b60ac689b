/**
 * End to end through the Go reference programs: Debian's `snowflake-client`
 * 2.5.1 (driven as tor drives a PT client) → Debian's `snowflake-proxy` 2.5.1
 * → our broker → our server (standalone, plain ws://) → a stand-in ORPort.
 * 5 MB each way, SHA-256 checked. Everything runs in a network namespace this
 * test creates (a veth pair with 192.0.2.1 and 192.0.2.2: the Go programs need
 * non-loopback addresses for ICE). No STUN server answers there, so both Go
 * NAT checks report `unknown` and the broker runs with
 * `--allow-unknown-nat-matching`. The two ends (SOCKS and ORPort) are
 * tests/e2e/fixtures/chain_ends.ts, run inside the namespace.
 */

import { errorMessage } from "../../lib/util/errors.ts";
import assert from "node:assert/strict";
import { createNetns, deleteNetns } from "../util/netns.ts";
import { type Proc, spawnIn } from "../util/netns_process.ts";
import { type BrokerProcess, startNetnsBroker, TEST_BRIDGE_FINGERPRINT } from "../broker/broker_process.ts";
import { randomBytes, sha256Hex } from "../server/harness.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SIZE = 5 * 1024 * 1024;
// The namespace is ours: fixed ports are free.
const SERVER_PORT = 9902;
const OR_PORT = 9903;
// Nothing listens here: STUN fails fast and the NAT type is `unknown`.
const STUN = "stun:192.0.2.1:3478";
/** The whole test, from the first process started to the last byte checked. */
const BUDGET_MS = 90_000;

Deno.test("e2e: Go snowflake-client → Go snowflake-proxy → our broker → our server → ORPort, 5 MB each way", async () => {
  const deadline = Date.now() + BUDGET_MS;
  const netns = `sfchain-${Deno.pid}`;
  await createNetns(netns, "sfc");
  const dir = await Deno.makeTempDir();
  const procs: Proc[] = [];
  let broker: BrokerProcess | undefined;
  const logs = () =>
    [
      `broker:\n${broker?.log.join("\n")}`,
      ...procs.map((p, i) => `process ${i}:\n${p.out()}\n${p.err()}`),
    ].join("\n");
  try {
    const up = randomBytes(SIZE);
    const down = randomBytes(SIZE);
    await Deno.writeFile(`${dir}/up.bin`, up);
    await Deno.writeFile(`${dir}/down.bin`, down);
    const server = spawnIn(netns, Deno.execPath(), [
      "run",
      "-A",
      `${REPO}cli/main.ts`,
      "server",
      "-disable-tls",
      "-listen",
      `192.0.2.1:${SERVER_PORT}`,
      "-orport",
      `127.0.0.1:${OR_PORT}`,
    ]);
    procs.push(server);
    broker = await startNetnsBroker(netns, dir, `ws://192.0.2.1:${SERVER_PORT}/`);
    const brokerUrl = `http://192.0.2.1:${broker.port}/`;
    await server.waitFor(/listening on port \d+/, deadline);

    const proxy = spawnIn(netns, "snowflake-proxy", [
      "-broker",
      brokerUrl,
      "-relay",
      `ws://192.0.2.1:${SERVER_PORT}/`,
      "-allowed-relay-hostname-pattern",
      "192.0.2.1$",
      "-allow-non-tls-relay",
      "-stun",
      STUN,
      "-keep-local-addresses",
    ]);
    procs.push(proxy);

    const client = spawnIn(
      netns,
      "snowflake-client",
      ["-keep-local-addresses", "-log", `${dir}/client.log`],
      {
        TOR_PT_MANAGED_TRANSPORT_VER: "1",
        TOR_PT_CLIENT_TRANSPORTS: "snowflake",
        TOR_PT_STATE_LOCATION: `${dir}/client-state`,
        TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
      },
    );
    procs.push(client);
    await client.waitFor(/^CMETHODS DONE$/m, deadline);
    const cmethod = /^CMETHOD snowflake socks5 127\.0\.0\.1:(\d+)$/m.exec(client.out());
    assert.ok(cmethod, client.out());

    // The bridge line's arguments, as tor passes them in the SOCKS credentials.
    const ptArgs = `url=${brokerUrl};fingerprint=${TEST_BRIDGE_FINGERPRINT};ice=${STUN}`;
    const ends = spawnIn(netns, Deno.execPath(), [
      "run",
      "-A",
      `${REPO}tests/e2e/fixtures/chain_ends.ts`,
      String(OR_PORT),
      cmethod[1],
      ptArgs,
      `${dir}/up.bin`,
      `${dir}/down.bin`,
      String(Math.max(1_000, deadline - Date.now())),
    ]);
    procs.push(ends);
    const line = await ends.waitFor(/^\{.*\}$/m, deadline + 5_000);
    const result = JSON.parse(line[0]);
    const context = `${line[0]}\n${logs()}\nclient log:\n${await Deno.readTextFile(`${dir}/client.log`).catch(
      () => "",
    )}`;
    assert.equal(result.error, undefined, context);
    assert.equal(result.upBytes, SIZE, context);
    assert.equal(result.downBytes, SIZE, context);
    assert.equal(result.upSha256, await sha256Hex(up), context);
    assert.equal(result.downSha256, await sha256Hex(down), context);
    // Neither of ours was given --unsafe-logging: no address of the namespace in their logs.
    assert.doesNotMatch(broker.log.join("\n"), /192\.0\.2\.\d/, context);
    assert.doesNotMatch(server.err(), /192\.0\.2\.\d/, context);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    throw new Error(`${errorMessage(error)}\n${logs()}`, { cause: error });
  } finally {
    for (const proc of procs.reverse()) await proc.stop();
    if (broker) await broker.stop();
    await deleteNetns(netns);
    await Deno.remove(dir, { recursive: true });
  }
});
