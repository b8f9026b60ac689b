import assert from "node:assert/strict";
import { formatTcpAddr } from "../../lib/net/addr.ts";
import { PtEnvError } from "../../lib/pt/env.ts";
import { PtMessages } from "../../lib/pt/messages.ts";
import { type parseServerEnv, serverSetup } from "../../lib/pt/server_env.ts";

const BASE = {
  TOR_PT_MANAGED_TRANSPORT_VER: "1",
  TOR_PT_SERVER_TRANSPORTS: "snowflake",
  TOR_PT_SERVER_BINDADDR: "snowflake-0.0.0.0:443",
  TOR_PT_ORPORT: "127.0.0.1:9001",
};

function setup(env: Record<string, string | undefined>): { lines: string[]; result: unknown } {
  const lines: string[] = [];
  try {
    return { lines, result: serverSetup(env, new PtMessages((line) => lines.push(line))) };
  } catch (error) {
    return { lines, result: error };
  }
}

Deno.test("serverSetup: a full tor environment", () => {
  const { lines, result } = setup({
    ...BASE,
    TOR_PT_SERVER_TRANSPORTS: "snowflake,obfs4",
    TOR_PT_SERVER_BINDADDR: "snowflake-0.0.0.0:443,obfs4-[::]:9443,meek-127.0.0.1:80",
    TOR_PT_SERVER_TRANSPORT_OPTIONS: "snowflake:num-turbotunnel=2",
    TOR_PT_EXTENDED_SERVER_PORT: "127.0.0.1:9002",
    TOR_PT_AUTH_COOKIE_FILE: "/var/lib/tor/extended_orport_auth_cookie",
    TOR_PT_STATE_LOCATION: "/var/lib/tor/pt_state",
    TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
  });
  assert.deepEqual(lines, ["VERSION 1"]);
  const info = result as ReturnType<typeof parseServerEnv>;
  assert.deepEqual(info.bindaddrs.map((b) => [b.methodName, formatTcpAddr(b.addr)]), [
    ["snowflake", "0.0.0.0:443"],
    ["obfs4", "[::]:9443"],
  ]);
  assert.equal(info.bindaddrs[0].options.first("num-turbotunnel"), "2");
  assert.equal(info.bindaddrs[1].options.size, 0);
  assert.equal(formatTcpAddr(info.orAddr!), "127.0.0.1:9001");
  assert.equal(formatTcpAddr(info.extendedOrAddr!), "127.0.0.1:9002");
  assert.equal(info.authCookiePath, "/var/lib/tor/extended_orport_auth_cookie");
  assert.equal(info.stateLocation, "/var/lib/tor/pt_state");
  assert.equal(info.exitOnStdinClose, true);
});

Deno.test("serverSetup: each bad environment gets goptlib's line", () => {
  const cases: [Record<string, string | undefined>, string[]][] = [
    [{ ...BASE, TOR_PT_MANAGED_TRANSPORT_VER: undefined }, [
      "ENV-ERROR no TOR_PT_MANAGED_TRANSPORT_VER environment variable",
    ]],
    [{ ...BASE, TOR_PT_MANAGED_TRANSPORT_VER: "2,3" }, ["VERSION-ERROR no-version"]],
    [{ ...BASE, TOR_PT_SERVER_BINDADDR: undefined }, [
      "VERSION 1",
      "ENV-ERROR no TOR_PT_SERVER_BINDADDR environment variable",
    ]],
    [{ ...BASE, TOR_PT_SERVER_TRANSPORTS: "" }, [
      "VERSION 1",
      "ENV-ERROR no TOR_PT_SERVER_TRANSPORTS environment variable",
    ]],
    [{ ...BASE, TOR_PT_SERVER_BINDADDR: "snowflake0.0.0.0:443" }, [
      "VERSION 1",
      'ENV-ERROR TOR_PT_SERVER_BINDADDR: "snowflake0.0.0.0:443": doesn\'t contain "-"',
    ]],
    [{ ...BASE, TOR_PT_SERVER_BINDADDR: "snowflake-0.0.0.0:443,snowflake-0.0.0.0:444" }, [
      "VERSION 1",
      'ENV-ERROR TOR_PT_SERVER_BINDADDR: "snowflake-0.0.0.0:444": duplicate method name "snowflake"',
    ]],
    [{ ...BASE, TOR_PT_SERVER_BINDADDR: "snowflake-example.com:443" }, [
      "VERSION 1",
      'ENV-ERROR TOR_PT_SERVER_BINDADDR: "snowflake-example.com:443": not an IP string: "example.com"',
    ]],
    [{ ...BASE, TOR_PT_SERVER_TRANSPORT_OPTIONS: "snowflake" }, [
      "VERSION 1",
      'ENV-ERROR TOR_PT_SERVER_TRANSPORT_OPTIONS: "snowflake": no colon in "snowflake"',
    ]],
    [{ ...BASE, TOR_PT_ORPORT: "nowhere" }, [
      "VERSION 1",
      'ENV-ERROR cannot resolve TOR_PT_ORPORT "nowhere": address nowhere: missing port in address',
    ]],
    [{ ...BASE, TOR_PT_EXTENDED_SERVER_PORT: "127.0.0.1:9002" }, [
      "VERSION 1",
      "ENV-ERROR need TOR_PT_AUTH_COOKIE_FILE environment variable with TOR_PT_EXTENDED_SERVER_PORT",
    ]],
    [{ ...BASE, TOR_PT_ORPORT: undefined }, [
      "VERSION 1",
      "ENV-ERROR need TOR_PT_ORPORT or TOR_PT_EXTENDED_SERVER_PORT environment variable",
    ]],
  ];
  for (const [env, expected] of cases) {
    const { lines, result } = setup(env);
    assert.deepEqual(lines, expected);
    assert.ok(result instanceof PtEnvError, expected.join(" / "));
  }
});
