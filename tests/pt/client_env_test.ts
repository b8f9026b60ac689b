import assert from "node:assert/strict";
import { clientSetup, parseProxyUrl, PtProxyUrlError } from "../../lib/pt/client_env.ts";
import { PtEnvError } from "../../lib/pt/env.ts";
import { PtMessages } from "../../lib/pt/messages.ts";

Deno.test("clientSetup: methods, proxy and version line", () => {
  const lines: string[] = [];
  const pt = new PtMessages((line) => lines.push(line));
  const info = clientSetup({
    TOR_PT_MANAGED_TRANSPORT_VER: "1",
    TOR_PT_CLIENT_TRANSPORTS: "snowflake,obfs4",
    TOR_PT_PROXY: "socks5://127.0.0.1:1080",
    TOR_PT_EXIT_ON_STDIN_CLOSE: "1",
  }, pt);
  assert.deepEqual(lines, ["VERSION 1"]);
  assert.deepEqual(info.methodNames, ["snowflake", "obfs4"]);
  assert.equal(info.proxyUrl?.href, "socks5://127.0.0.1:1080");
  assert.equal(info.exitOnStdinClose, true);

  lines.length = 0;
  assert.throws(() => clientSetup({ TOR_PT_MANAGED_TRANSPORT_VER: "1" }, pt), PtEnvError);
  assert.deepEqual(lines, ["VERSION 1", "ENV-ERROR no TOR_PT_CLIENT_TRANSPORTS environment variable"]);
});

Deno.test("parseProxyUrl: goptlib's checks", () => {
  assert.equal(parseProxyUrl("http://user:pw@[::1]:3128").port, "3128");
  const errors: [string, string][] = [
    ["127.0.0.1:1080", "missing scheme"],
    ["socks5:", "missing authority"],
    ["socks5://", "missing authority"],
    ["socks5://127.0.0.1", "address 127.0.0.1: missing port in address"],
    ["socks5://:1080", "missing host"],
    ["socks5://127.0.0.1:", "missing port"],
  ];
  for (const [input, message] of errors) {
    assert.throws(() => parseProxyUrl(input), (error: Error) => {
      assert.ok(error instanceof PtProxyUrlError, input);
      assert.equal(error.message, message, input);
      return true;
    });
  }
});
