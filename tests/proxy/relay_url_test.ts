import assert from "node:assert/strict";
import { NameMatcher } from "../../lib/messages/name_matcher.ts";
import {
  checkRelayUrl,
  RelayUrlError,
  type RelayUrlPolicy,
  relayUrlWithClientIp,
} from "../../lib/proxy/relay_url.ts";

const POLICY: RelayUrlPolicy = {
  pattern: new NameMatcher("snowflake.torproject.net$"),
  allowNonTls: false,
  allowPrivateAddresses: false,
};

Deno.test("checkRelayUrl: what the broker may name, SNOWFLAKE-PROTOCOL.md §6.4", async () => {
  const accepted = [
    "wss://snowflake.torproject.net/",
    "wss://01.snowflake.torproject.net/path?x=1",
    "wss://evilsnowflake.torproject.net/", // a plain suffix, as Go's namematcher
  ];
  for (const url of accepted) {
    assert.equal((await checkRelayUrl(url, true, POLICY)).href, new URL(url).href, url);
  }
  const refused: [string, RegExp][] = [
    ["wss://snowflake.torproject.org/", /does not match the allowed relay hostname pattern/],
    ["wss://torproject.net/", /does not match/],
    ["ws://snowflake.torproject.net/", /not wss: \(-allow-non-tls-relay allows ws:\)/],
    ["https://snowflake.torproject.net/", /scheme https: is not ws: or wss:/],
    ["snowflake.torproject.net", /is not a URL/],
    ["", /is not a URL/],
  ];
  for (const [url, message] of refused) {
    await assert.rejects(
      checkRelayUrl(url, true, POLICY),
      (e) => e instanceof RelayUrlError && message.test(e.message),
      url,
    );
  }
  // -allow-non-tls-relay lets ws: through.
  await checkRelayUrl("ws://snowflake.torproject.net/", true, { ...POLICY, allowNonTls: true });
  // An exact pattern.
  const exact = { ...POLICY, pattern: new NameMatcher("^snowflake.torproject.net$") };
  await checkRelayUrl("wss://snowflake.torproject.net/", true, exact);
  await assert.rejects(checkRelayUrl("wss://a.snowflake.torproject.net/", true, exact), RelayUrlError);
});

Deno.test("checkRelayUrl: never a loopback, private or link-local address unless allowed", async () => {
  const anyHost = { ...POLICY, pattern: new NameMatcher("$"), allowNonTls: true };
  const refused = [
    "ws://127.0.0.1:8080/",
    "ws://127.1.2.3/",
    "ws://[::1]:9000/",
    "ws://10.0.0.1/",
    "ws://172.20.1.1/",
    "ws://192.168.0.10/",
    "ws://169.254.169.254/", // cloud metadata
    "ws://100.64.0.1/",
    "ws://[fe80::1]/",
    "ws://[fd00::5]/",
    "ws://0.0.0.0/",
    "ws://[::ffff:127.0.0.1]/",
    "ws://localhost:8080/",
    "ws://relay.localhost/",
  ];
  for (const url of refused) {
    for (const fromBroker of [true, false]) {
      await assert.rejects(
        checkRelayUrl(url, fromBroker, anyHost),
        (e) => e instanceof RelayUrlError && /loopback, private or link-local/.test(e.message),
        url,
      );
    }
    await checkRelayUrl(url, true, { ...anyHost, allowPrivateAddresses: true });
  }
  await checkRelayUrl("ws://192.0.2.1:8080/", true, anyHost); // TEST-NET-1 is not private
  await checkRelayUrl("ws://[2001:db8::1]/", true, anyHost);
});

Deno.test("checkRelayUrl: hostnames are checked through the resolver when there is one", async () => {
  const resolved: Record<string, string[]> = {
    "relay.example": ["192.0.2.7", "2001:db8::7"],
    "rebind.example": ["192.0.2.8", "10.1.1.1"],
  };
  const policy = {
    ...POLICY,
    pattern: new NameMatcher("example$"),
    resolveHost: (name: string) =>
      name in resolved ? Promise.resolve(resolved[name]) : Promise.reject(new Error("NXDOMAIN")),
  };
  await checkRelayUrl("wss://relay.example/", true, policy);
  await assert.rejects(
    checkRelayUrl("wss://rebind.example/", true, policy),
    /rebind\.example \(10\.1\.1\.1\)/,
  );
  await assert.rejects(checkRelayUrl("wss://gone.example/", true, policy), /does not resolve: NXDOMAIN/);
  // Without a resolver only literals and localhost are checked.
  await checkRelayUrl("wss://rebind.example/", true, { ...policy, resolveHost: undefined });
});

Deno.test("checkRelayUrl: the -relay default skips the pattern and TLS checks, as Go", async () => {
  await checkRelayUrl("ws://relay.other.org/", false, POLICY);
  await assert.rejects(checkRelayUrl("http://relay.other.org/", false, POLICY), /not ws: or wss:/);
});

Deno.test("relayUrlWithClientIp: Go's url.Values.Encode, SNOWFLAKE-PROTOCOL.md §6.6", () => {
  const rows: [string, string | undefined, string][] = [
    ["wss://snowflake.torproject.net/", "1.2.3.4", "wss://snowflake.torproject.net/?client_ip=1.2.3.4"],
    [
      "wss://snowflake.torproject.net/",
      "2001:db8::1",
      "wss://snowflake.torproject.net/?client_ip=2001%3Adb8%3A%3A1",
    ],
    [
      "wss://snowflake.torproject.net/?x=1&a=b",
      "1.2.3.4",
      "wss://snowflake.torproject.net/?a=b&client_ip=1.2.3.4&x=1",
    ],
    [
      "wss://snowflake.torproject.net/?client_ip=9.9.9.9",
      "1.2.3.4",
      "wss://snowflake.torproject.net/?client_ip=1.2.3.4",
    ],
    ["wss://snowflake.torproject.net/?x=1", undefined, "wss://snowflake.torproject.net/?x=1"],
  ];
  for (const [url, ip, want] of rows) assert.equal(relayUrlWithClientIp(new URL(url), ip), want, url);
});
