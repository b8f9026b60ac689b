/** Bridge list, geoip tables, and the metrics renderers (CollecTor log, Prometheus, /debug). */
import assert from "node:assert/strict";
import { BridgeList, BridgeListError, DEFAULT_BRIDGE } from "../../lib/broker/bridge_list.ts";
import { GeoipError, GeoipTable, parseIpv6 } from "../../lib/broker/geoip.ts";
import { BrokerMetrics } from "../../lib/broker/metrics.ts";
import { binCount, formatCollectorStats, formatCountryCounts } from "../../lib/broker/collector_stats.ts";
import { parseListenAddress } from "../../lib/broker/listen_address.ts";
import { MetricsLog } from "../../lib/broker/metrics_log.ts";

Deno.test("bridge list: default, file format, whole-file rejection (§4.9)", () => {
  const defaults = new BridgeList();
  assert.deepEqual(defaults.get("2B280B23E1107BB62ABFC40DDCC8824814F80A72"), DEFAULT_BRIDGE);
  const fp32 = "ab".repeat(32);
  const list = BridgeList.parse(
    '{"displayName":"a", "webSocketAddress":"wss://a.example/", "fingerprint":"' + "cd".repeat(20) +
      '"}\n\n' +
      `{"displayName":"b","webSocketAddress":"ws://192.0.2.1:8080/","fingerprint":"${fp32}"}\n`,
  );
  assert.equal(list.size, 2);
  assert.equal(list.get("CD".repeat(20))?.webSocketAddress, "wss://a.example/");
  assert.equal(list.get(fp32.toUpperCase())?.displayName, "b");
  assert.equal(
    list.get("2B280B23E1107BB62ABFC40DDCC8824814F80A72"),
    undefined,
    "a file replaces the default",
  );
  const bad = [
    '{"displayName":"a","webSocketAddress":"wss://a/","fingerprint":"' + "cd".repeat(20) + '","extra":1}',
    '{"displayName":"a","webSocketAddress":"wss://a/","fingerprint":"cdcd"}',
    '{"displayName":"a","webSocketAddress":"https://a/","fingerprint":"' + "cd".repeat(20) + '"}',
    "not json",
    "",
  ];
  for (const text of bad) assert.throws(() => BridgeList.parse(text), BridgeListError, text);
  assert.throws(() => BridgeList.parse('\n\n{"fingerprint":1}'), /line 3/);
});

Deno.test("geoip: tor's file formats, IPv4 and IPv6 lookups", () => {
  const table = new GeoipTable(
    "# comment\n16777216,16777471,AU\n134744064,134744319,US\n3232235520,3232301055,??\n",
    "# comment\n2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,US\n2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,IE\n",
  );
  assert.deepEqual(table.size, { v4: 3, v6: 2 });
  const cases: [string, string][] = [
    ["1.0.0.1", "AU"],
    ["8.8.8.8", "US"],
    ["::ffff:8.8.8.8", "US"],
    ["192.168.1.1", "??"],
    ["9.9.9.9", "??"],
    ["2001:4860:4860::8888", "US"],
    ["2a00:1450:4001::1", "IE"],
    ["2a00:1451::1", "??"],
    ["not an address", "??"],
  ];
  for (const [address, cc] of cases) assert.equal(table.country(address), cc, address);
  assert.throws(() => new GeoipTable("1,2\n", ""), GeoipError);
  assert.throws(() => new GeoipTable("", "zz,2001::,US\n"), GeoipError);
  assert.deepEqual([...parseIpv6("2001:db8::1")!], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...parseIpv6("::ffff:1.2.3.4")!], [0, 0, 0xffff, 0x01020304]);
  for (const bad of ["1::2::3", "1:2:3", "12345::", "1:2:3:4:5:6:7:8:9", ":1::"]) {
    assert.equal(parseIpv6(bad), undefined, bad);
  }
});

Deno.test("geoip: range edges, gaps, the top of the address space, bytes as read", () => {
  const table = new GeoipTable(
    new TextEncoder().encode("10,19,AA\r\n20,29,BB\n40,49,AA\n4294967290,4294967295,CC\n"),
    "::1,::2,DD\n::4,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,EE\n",
  );
  assert.deepEqual(table.size, { v4: 4, v6: 2 });
  const cases: [string, string][] = [
    ["0.0.0.9", "??"], // before the first range
    ["0.0.0.10", "AA"],
    ["0.0.0.19", "AA"],
    ["0.0.0.20", "BB"], // adjacent ranges: no gap between them
    ["0.0.0.29", "BB"],
    ["0.0.0.30", "??"], // a gap
    ["0.0.0.49", "AA"],
    ["0.0.0.50", "??"],
    ["255.255.255.250", "CC"],
    ["255.255.255.255", "CC"], // the last range reaches the top: no gap after it
    ["::", "??"],
    ["::2", "DD"],
    ["::3", "??"],
    ["::4", "EE"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "EE"],
  ];
  for (const [address, cc] of cases) assert.equal(table.country(address), cc, address);
  // Boundaries: a start per range plus one per gap (before 40, after 49): 6 words of IPv4, 3 × 4 of IPv6.
  assert.equal(table.byteLength, 6 * 4 + 6 * 2 + 3 * 16 + 3 * 2);
  assert.throws(() => new GeoipTable("20,29,AA\n10,19,BB\n", ""), GeoipError); // not sorted
  assert.throws(() => new GeoipTable("10,29,AA\n20,39,BB\n", ""), GeoipError); // overlapping
  assert.throws(() => new GeoipTable("29,10,AA\n", ""), GeoipError); // high below low
  assert.throws(() => new GeoipTable("10,4294967296,AA\n", ""), GeoipError); // over 32 bits
  assert.throws(() => new GeoipTable("10,19, \n", ""), GeoipError); // no country
});

Deno.test("geoip: Debian's tor-geoipdb files load when present", async () => {
  try {
    await Deno.stat("/usr/share/tor/geoip6");
  } catch {
    return; // tor-geoipdb is installed by scripts/setup.sh; without it there is nothing to check
  }
  const table = await GeoipTable.load("/usr/share/tor/geoip", "/usr/share/tor/geoip6");
  assert.ok(table.size.v4 > 100_000 && table.size.v6 > 10_000);
  assert.match(table.country("8.8.8.8"), /^[A-Z]{2}$/);
  assert.match(table.country("2001:4860:4860::8888"), /^[A-Z]{2}$/);
});

Deno.test("CollecTor stats block, Go's layout and rounding (§4.10, broker/metrics_test.go)", () => {
  const geoip = new GeoipTable("16777216,16777471,AU\n134744064,134744319,US\n", "");
  const metrics = new BrokerMetrics({ geoip });
  metrics.proxyPolled("standalone", "unknown", true);
  metrics.proxySeen("1.0.0.1", "standalone", "unknown");
  metrics.proxySeen("1.0.0.1", "standalone", "unknown"); // same address again: counted once
  metrics.proxySeen("8.8.8.8", "badge", "restricted");
  metrics.proxySeen("8.8.8.9", "webext", "restricted");
  metrics.proxySeen("9.9.9.9", "my-embedding", "unrestricted");
  metrics.proxyIdle("unknown");
  metrics.clientDenied("unknown");
  metrics.clientDenied("unrestricted");
  metrics.clientMatched("restricted");
  const text = formatCollectorStats(metrics, new Date(Date.UTC(2026, 10, 25, 12, 0, 5)));
  assert.equal(
    text,
    [
      "snowflake-stats-end 2026-11-25 12:00:05 (86400 s)",
      "snowflake-ips US=2,??=1,AU=1",
      "snowflake-ips-badge 1",
      "snowflake-ips-iptproxy 0",
      "snowflake-ips-standalone 1",
      "snowflake-ips-webext 1",
      "snowflake-ips-total 4",
      "snowflake-idle-count 8",
      "snowflake-proxy-poll-with-relay-url-count 8",
      "snowflake-proxy-poll-without-relay-url-count 0",
      "snowflake-proxy-rejected-for-relay-url-count 0",
      "client-denied-count 8",
      "client-restricted-denied-count 8",
      "client-unrestricted-denied-count 8",
      "client-snowflake-match-count 8",
      "snowflake-ips-nat-restricted 2",
      "snowflake-ips-nat-unrestricted 1",
      "snowflake-ips-nat-unknown 1",
      "",
    ].join("\n"),
  );
  metrics.resetPeriod();
  const empty = formatCollectorStats(metrics, new Date(0));
  assert.match(
    empty,
    /^snowflake-ips \nsnowflake-ips-badge 0\n/m,
    "Go's Println leaves a space before an empty list",
  );
  assert.match(empty, /^snowflake-idle-count 0$/m);
  assert.equal(binCount(0), 0);
  assert.equal(binCount(1), 8);
  assert.equal(binCount(8), 8);
  assert.equal(binCount(9), 16);
  assert.equal(formatCountryCounts(new Map([["DE", 3], ["AT", 3], ["FR", 5]])), "FR=5,AT=3,DE=3");
});

Deno.test("metrics: distinct addresses are bounded per period", () => {
  const metrics = new BrokerMetrics({ maxTrackedAddresses: 10 });
  for (let i = 0; i < 100; i++) metrics.proxySeen(`10.0.0.${i}`, "standalone", "unknown");
  const tracked = (metrics.addressesByType.get("standalone")?.size ?? 0) + metrics.natAddressCount("unknown");
  assert.equal(tracked, 10);
  assert.ok(metrics.addressesDropped >= 90);
  metrics.resetPeriod();
  metrics.proxySeen("10.0.0.1", "standalone", "unknown");
  assert.equal(metrics.addressesByType.get("standalone")?.size, 1);
});

Deno.test("listen addresses as Go writes them", () => {
  assert.deepEqual(parseListenAddress(":443"), { hostname: "", port: 443 });
  assert.deepEqual(parseListenAddress("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListenAddress("[::1]:80"), { hostname: "::1", port: 80 });
  for (const bad of ["443", "::1:80", "host:http", ":70000", "[::1:80"]) {
    assert.throws(() => parseListenAddress(bad), RangeError, bad);
  }
});

Deno.test("metrics log: one block per period, then the counts start over", () => {
  const metrics = new BrokerMetrics();
  const written: string[] = [];
  const log = new MetricsLog(metrics, (text) => written.push(text), 60);
  metrics.clientMatched("unknown");
  log.flush(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
  log.flush(new Date(Date.UTC(2026, 0, 2, 3, 5, 5)));
  assert.equal(written.length, 2);
  assert.match(written[0], /^snowflake-stats-end 2026-01-02 03:04:05 \(60 s\)\n/);
  assert.match(written[0], /^client-snowflake-match-count 8$/m);
  assert.match(written[1], /^client-snowflake-match-count 0$/m);
  log.start();
  log.stop();
});
