/**
 * End to end: the managed-proxy protocol as tor sees it (SNOWFLAKE-PROTOCOL.md
 * §8.2, §9): the stdout lines, errors for a bad environment or bad transport
 * options, exit on stdin close, the flags Go's binary has, TLS from
 * certificate files, and num-turbotunnel=2 with the metrics endpoint.
 */

import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { concat } from "../../lib/util/bytes.ts";
import { startExtOrPortStandIn, writeAll } from "../pt/extorport_standin.ts";
import { RawWebSocket } from "../websocket/raw_client.ts";
import { openTurbotunnelClient } from "../server/turbotunnel_client.ts";
import { startServerProcess } from "./server_process.ts";

const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;

function echoStandIn() {
  return startExtOrPortStandIn({
    async onData(conn, reader) {
      for (let chunk = await reader.readSome(); chunk; chunk = await reader.readSome()) {
        await writeAll(conn, chunk);
      }
    },
  });
}

Deno.test("e2e server PT: VERSION, STATUS, SMETHOD with ARGS, SMETHOD-ERROR for other methods, SMETHODS DONE", async () => {
  const standIn = echoStandIn();
  const server = await startServerProcess({
    orPort: standIn.port,
    env: {
      TOR_PT_SERVER_TRANSPORTS: "snowflake,obfs4",
      TOR_PT_SERVER_BINDADDR: "obfs4-127.0.0.1:0,snowflake-127.0.0.1:0",
    },
  });
  try {
    assert.deepEqual(server.ptLines, [
      "VERSION 1",
      `STATUS TYPE=version IMPLEMENTATION="snowflake" VERSION="${denoJson.version}"`,
      "SMETHOD-ERROR obfs4 no such method",
      `SMETHOD snowflake 127.0.0.1:${server.port} ARGS:tls=no`,
      "SMETHODS DONE",
    ]);
  } finally {
    assert.equal(await server.stop(), 0, "exits cleanly when tor closes stdin");
    await standIn.close();
  }
  assert.match(server.log(), /synthesizing SIGTERM because of stdin close/);
});

Deno.test("e2e server PT: a bad environment gets ENV-ERROR and exit status 1", async () => {
  const cases: [Record<string, string | undefined>, string][] = [
    [{ TOR_PT_SERVER_BINDADDR: undefined }, "ENV-ERROR no TOR_PT_SERVER_BINDADDR environment variable"],
    [
      { TOR_PT_ORPORT: undefined },
      "ENV-ERROR need TOR_PT_ORPORT or TOR_PT_EXTENDED_SERVER_PORT environment variable",
    ],
    [{ TOR_PT_MANAGED_TRANSPORT_VER: "2" }, "VERSION-ERROR no-version"],
  ];
  for (const [env, line] of cases) {
    const server = await startServerProcess({ orPort: 9, env });
    assert.equal(await server.stop(), 1);
    assert.equal(server.ptLines.filter((l) => !l.startsWith("LOG ")).at(-1), line);
  }
});

Deno.test("e2e server PT: bad transport options get SMETHOD-ERROR with Go's wording", async () => {
  const cases: [string, string][] = [
    ["snowflake:num-turbotunnel=0", "SMETHOD-ERROR snowflake parsing num-turbotunnel: cannot be less than 1"],
    [
      "snowflake:orport-srcaddr=nowhere",
      "SMETHOD-ERROR snowflake parsing srcaddr: invalid CIDR address: nowhere",
    ],
  ];
  for (const [transportOptions, line] of cases) {
    const server = await startServerProcess({ orPort: 9, transportOptions });
    // errors are also sent to tor as LOG lines
    assert.deepEqual(server.ptLines.slice(2).filter((l) => !l.startsWith("LOG ")), [line, "SMETHODS DONE"]);
    assert.ok(server.ptLines.some((l) => l.startsWith("LOG SEVERITY=error MESSAGE=")));
    assert.equal(await server.stop(), 0);
  }
});

Deno.test("e2e server flags: -version, unknown flags, and ACME refused with an explanation", async () => {
  const run = async (args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "server", ...args],
      stdin: "null",
      env: { TOR_PT_MANAGED_TRANSPORT_VER: "1" },
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  const version = await run(["-version"]);
  assert.equal(version.code, 0);
  assert.match(version.stderr, new RegExp(`^snowflake-server ${denoJson.version.replaceAll(".", "\\.")}`));
  const unknown = await run(["-no-such-flag"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /flag provided but not defined: -no-such-flag/);
  const acme = await run(["--acme-hostnames", "snowflake.example", "-acme-email=me@example"]);
  assert.equal(acme.code, 1);
  assert.match(acme.stderr, /ACME .* is not supported: it needs to reach Let's Encrypt over the internet/);
  assert.match(acme.stderr, /-cert FILE -key FILE/);
});

Deno.test("e2e server: TLS from -cert/-key; SMETHOD ARGS carry hostname= and tls=yes", async () => {
  const dir = await Deno.makeTempDir();
  const standIn = echoStandIn();
  try {
    const openssl = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(openssl.success, "openssl made a certificate");
    const server = await startServerProcess({
      orPort: standIn.port,
      args: ["-cert", `${dir}/cert.pem`, "-key", `${dir}/key.pem`, "-acme-hostnames", "localhost"],
    });
    try {
      assert.equal(
        server.ptLines.at(-2),
        `SMETHOD snowflake 127.0.0.1:${server.port} ARGS:hostname=localhost,tls=yes`,
      );
      const raw = await RawWebSocket.connect(server.port, "/", [await Deno.readTextFile(`${dir}/cert.pem`)]);
      const reading = raw.readToEnd();
      await raw.send(new TextEncoder().encode("legacy bytes over wss"));
      while (standIn.sessions.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      raw.close();
      await reading;
    } finally {
      assert.equal(await server.stop(), 0);
    }
  } finally {
    await standIn.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e server: num-turbotunnel=2 (Web Workers) serves several clients; metrics count them", async () => {
  const standIn = echoStandIn();
  const server = await startServerProcess({
    orPort: standIn.port,
    transportOptions: "snowflake:num-turbotunnel=2",
    args: ["-disable-tls", "-metrics-address", "127.0.0.1:0"],
  });
  try {
    const clients = await Promise.all(
      Array.from(
        { length: 6 },
        () => openTurbotunnelClient(`ws://127.0.0.1:${server.port}/?client_ip=203.0.113.5`),
      ),
    );
    await Promise.all(clients.map(async (client, i) => {
      const message = new TextEncoder().encode(`client ${i} `.repeat(5000));
      await client.stream.write(message);
      let got: Uint8Array = new Uint8Array(0);
      while (got.length < message.length) got = concat([got, (await client.stream.read())!]);
      assert.deepEqual(got, message);
    }));
    await Promise.all(clients.map((client) => client.close()));
    const metricsPort = Number(/metrics at port (\d+)/.exec(server.log())?.[1]);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /^snowflake_server_sessions_total\{result="accepted"\} 6$/m);
    assert.match(text, /^snowflake_server_streams_total 6$/m);
    assert.match(text, /^snowflake_server_websocket_connections_with_client_ip_total 6$/m);
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
  assert.equal(standIn.sessions.length, 6);
});

Deno.test("e2e server: -upgrade-timeout closes a slow upgrade request, -max-pending-upgrades refuses past the cap", async () => {
  const standIn = echoStandIn();
  const server = await startServerProcess({
    orPort: standIn.port,
    args: [
      "-disable-tls",
      "-upgrade-timeout",
      "1s",
      "-max-pending-upgrades",
      "2",
      "-metrics-address",
      "127.0.0.1:0",
    ],
  });
  const half = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: bridge\r\nUpgrade: webso");
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(half);
      conns.push(conn);
      await new Promise((resolve) => setTimeout(resolve, 100)); // accepted in this order
    }
    // Every one of them is closed by the server: the third at accept, the first two at the deadline.
    const buffer = new Uint8Array(64);
    for (const conn of conns) {
      while ((await conn.read(buffer)) !== null);
    }
    const metricsPort = Number(/metrics at port (\d+)/.exec(server.log())?.[1]);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /^snowflake_server_upgrades_failed_total\{reason="timeout"\} 2$/m);
    assert.match(text, /^snowflake_server_upgrades_failed_total\{reason="pending-limit"\} 1$/m);
    assert.match(text, /^snowflake_server_upgrades_pending 0$/m);
    // A good client still gets through.
    const client = await openTurbotunnelClient(`ws://127.0.0.1:${server.port}/`);
    await client.stream.write(new TextEncoder().encode("hi"));
    assert.ok(await client.stream.read());
    await client.close();
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
});
