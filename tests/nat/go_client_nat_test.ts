/**
 * Interop: Debian's Go `snowflake-client` 2.5.1 runs its NAT check (pion/stun,
 * RFC 5780 mapping test) against tests/support/stun_server.ts and reports the
 * type the server emulates. Driven as tor drives a PT client; the broker URL
 * points at a closed loopback port, so nothing else happens. The Go client
 * reports its NAT type only in its log ("NAT Type: …"), so this test reads it.
 */

import assert from "node:assert/strict";
import { startStunServer, type StunServerOptions } from "../support/stun_server.ts";
import { ConnReader, writeAll } from "../pt/extorport_standin.ts";

const BUDGET_MS = 30_000;

async function goClientNatType(options: StunServerOptions): Promise<string> {
  const stun = await startStunServer(options);
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command("snowflake-client", {
    args: ["-log", `${dir}/client.log`, "-unsafe-logging"],
    env: {
      TOR_PT_MANAGED_TRANSPORT_VER: "1",
      TOR_PT_CLIENT_TRANSPORTS: "snowflake",
      TOR_PT_STATE_LOCATION: `${dir}/state`,
      TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let socks: Deno.Conn | undefined;
  try {
    const deadline = Date.now() + BUDGET_MS;
    let out = "";
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    while (!/^CMETHODS DONE$/m.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`snowflake-client exited: ${out}`);
      out += decoder.decode(value);
    }
    // Keep reading: a closed stdout would kill the Go client with SIGPIPE at its next PT message.
    (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })().catch(() => {});
    const port = Number(/^CMETHOD snowflake socks5 127\.0\.0\.1:(\d+)$/m.exec(out)![1]);
    socks = await Deno.connect({ hostname: "127.0.0.1", port });
    const socksReader = new ConnReader(socks);
    await writeAll(socks, new Uint8Array([5, 1, 2]));
    assert.deepEqual(await socksReader.readExact(2), new Uint8Array([5, 2]));
    const args = new TextEncoder().encode(`url=http://127.0.0.1:1/;ice=${stun.url}`);
    await writeAll(socks, new Uint8Array([1, args.length, ...args, 1, 0]));
    assert.deepEqual(await socksReader.readExact(2), new Uint8Array([1, 0]));
    await writeAll(socks, new Uint8Array([5, 1, 0, 1, 192, 0, 2, 3, 0, 1]));
    // The Go client logs its NAT type once the check ends; poll its log file (bounded).
    while (Date.now() < deadline) {
      const log = await Deno.readTextFile(`${dir}/client.log`).catch(() => "");
      const match = /NAT Type: (\w+)/.exec(log);
      if (match) {
        assert.ok(stun.requests >= 2, `the Go client sent ${stun.requests} requests`);
        return match[1];
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `no NAT type (${stun.requests} STUN requests) in the Go client log:\n${await Deno.readTextFile(
        `${dir}/client.log`,
      )}`,
    );
  } finally {
    socks?.close();
    await child.stdin.close();
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    stun.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("interop: Go snowflake-client 2.5.1 finds our test STUN server's emulated NATs", async () => {
  assert.equal(await goClientNatType({}), "unrestricted");
  assert.equal(await goClientNatType({ mapping: "address-dependent" }), "restricted");
});
