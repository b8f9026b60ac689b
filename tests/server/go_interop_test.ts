/**
 * Interop: Go Snowflake 2.5.1's own client pieces (Debian's Go sources:
 * turbotunnel, encapsulation, websocketconn with its 2048-byte messages,
 * kcp-go, smux) against our server as the real subcommand, with an
 * ExtORPort stand-in that echoes. Built in GOPATH mode into build/server-interop/.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startExtOrPortStandIn, writeAll } from "../pt/extorport_standin.ts";
import { startServerProcess } from "../e2e/server_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const OUT = `${ROOT}build/server-interop`;
const DEBIAN = "/usr/share/gocode/src";

/** Builds the Go client (GOPATH mode, Debian's sources); returns its path. */
async function buildGoClient(): Promise<string> {
  const gopath = `${OUT}/gopath`;
  const links: [string, string][] = [
    [`${gopath}/src/github.com/xtaci/kcp-go/v5`, `${DEBIAN}/github.com/xtaci/kcp-go`],
    [
      `${gopath}/src/git.torproject.org/pluggable-transports/snowflake.git/v2`,
      `${DEBIAN}/git.torproject.org/pluggable-transports/snowflake.git`,
    ],
  ];
  for (const [link, target] of links) {
    await Deno.mkdir(link.slice(0, link.lastIndexOf("/")), { recursive: true });
    try {
      await Deno.remove(link);
    } catch {
      // not there yet
    }
    await Deno.symlink(target, link);
  }
  const binary = `${OUT}/go-client`;
  const build = await new Deno.Command("go", {
    args: ["build", "-o", binary, `${ROOT}tests/server/go_client/main.go`],
    env: {
      GO111MODULE: "off",
      GOPATH: `${gopath}:/usr/share/gocode`,
      GOFLAGS: "",
      GOCACHE: `${OUT}/gocache`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(build.success, `go build failed:\n${new TextDecoder().decode(build.stderr)}`);
  return binary;
}

Deno.test("interop: a Go Snowflake 2.5.1 client (kcp-go, smux, websocketconn) through our server, 5 MB echoed", async () => {
  const binary = await buildGoClient();
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  const standIn = startExtOrPortStandIn({
    cookie,
    async onData(conn, reader) {
      for (let chunk = await reader.readSome(); chunk; chunk = await reader.readSome()) {
        await writeAll(conn, chunk);
      }
    },
  });
  const server = await startServerProcess({ extOrPort: standIn.port, cookie });
  const size = 5 * 1024 * 1024;
  try {
    const run = await new Deno.Command(binary, {
      args: [`ws://127.0.0.1:${server.port}/?client_ip=2001:db8::7`, String(size)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.ok(run.success, `Go client failed: ${stderr}`);
    const expected = new Uint8Array(size);
    for (let i = 0; i < size; i++) expected[i] = (i * 31) & 0xff;
    assert.equal(
      new TextDecoder().decode(run.stdout).trim(),
      `ok ${createHash("sha256").update(expected).digest("hex")}`,
    );
  } finally {
    assert.equal(await server.stop(), 0);
    await standIn.close();
  }
  assert.deepEqual(standIn.sessions, [{
    clientHashOk: true,
    userAddr: "[2001:db8::7]:1",
    transport: "snowflake",
  }]);
});
