/** discoverNatType over real UDP on loopback against tests/support/stun_server.ts (127.0.0.1 and 127.0.0.2). */

import assert from "node:assert/strict";
import {
  discoverNatBehavior,
  discoverNatType,
  parseStunUrl,
  StunUrlError,
} from "../../lib/nat/discover_nat_type.ts";
import { startStunServer, type StunServerOptions } from "../support/stun_server.ts";

async function withServer<T>(options: StunServerOptions, body: (url: string) => Promise<T>): Promise<T> {
  const server = await startStunServer(options);
  try {
    return await body(server.url);
  } finally {
    server.close();
  }
}

Deno.test("discoverNatType: endpoint-independent mapping is unrestricted (also with a host name)", async () => {
  const natType = await withServer({}, (stunUrl) => discoverNatType({ stunUrl }));
  assert.equal(natType, "unrestricted");
  // "localhost" comes from the hosts file, as Go's resolver would find it
  const byName = await withServer(
    {},
    (stunUrl) => discoverNatType({ stunUrl: stunUrl.replace("127.0.0.1", "localhost") }),
  );
  assert.equal(byName, "unrestricted");
});

Deno.test("discoverNatType: address-dependent mapping is restricted", async () => {
  for (const mapping of ["address-dependent", "address-and-port-dependent"] as const) {
    const natType = await withServer({ mapping }, (stunUrl) => discoverNatType({ stunUrl }));
    assert.equal(natType, "restricted", mapping);
  }
});

Deno.test("discoverNatType with the filtering test: port-dependent filtering is restricted, address-dependent is not", async () => {
  const result = await withServer(
    { filtering: "address-and-port-dependent" },
    (stunUrl) => discoverNatBehavior({ stunUrl, testFiltering: true, transactionTimeoutMs: 600 }),
  );
  assert.deepEqual(result, {
    natType: "restricted",
    mapping: "endpoint-independent",
    filtering: "port-dependent",
  });
  const open = await withServer(
    { filtering: "address-dependent" },
    (stunUrl) => discoverNatBehavior({ stunUrl, testFiltering: true, transactionTimeoutMs: 600 }),
  );
  assert.deepEqual(open, {
    natType: "unrestricted",
    mapping: "endpoint-independent",
    filtering: "port-independent",
  });
});

Deno.test("discoverNatType: a plain RFC 5389 server (no OTHER-ADDRESS) is unknown, with the reason", async () => {
  let reason: string | undefined;
  const natType = await withServer(
    { mode: "rfc5389" },
    (stunUrl) => discoverNatType({ stunUrl, onResult: (result) => reason = result.reason }),
  );
  assert.equal(natType, "unknown");
  assert.match(reason!, /no OTHER-ADDRESS/);
});

Deno.test("discoverNatType: a silent server is unknown after the timeout; an abort ends it at once", async () => {
  await withServer({ mode: "silent" }, async (stunUrl) => {
    assert.equal(await discoverNatType({ stunUrl, timeoutMs: 700 }), "unknown");
    const controller = new AbortController();
    const pending = discoverNatType({ stunUrl, timeoutMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    assert.equal(await pending, "unknown");
  });
});

Deno.test("discoverNatType: unusable URLs and names are unknown, never a throw", async () => {
  for (const stunUrl of ["turn:127.0.0.1:3478", "stun:", "stun:127.0.0.1:99999"]) {
    assert.equal(await discoverNatType({ stunUrl, timeoutMs: 2000 }), "unknown", stunUrl);
  }
  const controller = new AbortController();
  controller.abort();
  assert.equal(await discoverNatType({ stunUrl: "stun:127.0.0.1:1", signal: controller.signal }), "unknown");
});

Deno.test("parseStunUrl: RFC 7064 forms", () => {
  assert.deepEqual(parseStunUrl("stun:stun.l.google.com:19302"), { host: "stun.l.google.com", port: 19302 });
  assert.deepEqual(parseStunUrl("stun:192.0.2.1"), { host: "192.0.2.1", port: 3478 });
  assert.deepEqual(parseStunUrl("STUN:[2001:db8::1]:3479?transport=udp"), {
    host: "2001:db8::1",
    port: 3479,
  });
  assert.deepEqual(parseStunUrl("stun:[2001:db8::1]"), { host: "2001:db8::1", port: 3478 });
  for (const bad of ["stuns:a:1", "turn:a:1", "stun:a:b", "stun:2001:db8::1", "stun:[::1", "stun::1"]) {
    assert.throws(() => parseStunUrl(bad), StunUrlError, bad);
  }
});

Deno.test("the test STUN server as a subprocess: prints its URL, serves, exits when its stdin closes", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../support/stun_server.ts", import.meta.url).pathname,
      "--mapping",
      "address-dependent",
      "--until-stdin-closes",
    ],
    cwd: new URL("../../", import.meta.url).pathname, // deno.json there turns on the unstable "net" feature
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const stunUrl = out.trim();
  assert.match(stunUrl, /^stun:127\.0\.0\.1:\d+$/);
  assert.equal(await discoverNatType({ stunUrl }), "restricted");
  await child.stdin.close();
  assert.equal((await child.status).code, 0);
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
});
