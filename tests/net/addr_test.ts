import assert from "node:assert/strict";
import {
  AddrError,
  formatIp,
  formatTcpAddr,
  isLinkLocalIp,
  isLocalIp,
  isLoopbackIp,
  isNonPublicIp,
  isUnspecifiedIp,
  parseIp,
  resolveAddr,
  splitHostPort,
} from "../../lib/net/addr.ts";

Deno.test("parseIp/formatIp: Go's ParseIP and String", () => {
  const roundTrips: [string, string][] = [
    ["1.2.3.4", "1.2.3.4"],
    ["0.0.0.0", "0.0.0.0"],
    ["2001:db8::1", "2001:db8::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["::ffff:1.2.3.4", "1.2.3.4"], // IPv4-mapped becomes IPv4
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"], // longest zero run
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"], // a single zero group is not compressed
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ];
  for (const [input, expected] of roundTrips) {
    const ip = parseIp(input);
    assert.ok(ip, input);
    assert.equal(formatIp(ip), expected, input);
  }
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.-4",
      "::1::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "12345::",
      "1.2.3.4::",
      "example.com",
      "fe80::1%eth0",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
  assert.ok(isUnspecifiedIp(parseIp("::")!));
  assert.ok(isUnspecifiedIp(parseIp("0.0.0.0")!));
  assert.ok(!isUnspecifiedIp(parseIp("0.0.0.1")!));
});

Deno.test("splitHostPort and resolveAddr: goptlib's bind address forms", () => {
  assert.deepEqual(splitHostPort("1.2.3.4:80"), ["1.2.3.4", "80"]);
  assert.deepEqual(splitHostPort("[::1]:80"), ["::1", "80"]);
  assert.throws(() => splitHostPort("1.2.3.4"), AddrError);
  assert.throws(() => splitHostPort("::1:80:"), AddrError);

  assert.equal(formatTcpAddr(resolveAddr("127.0.0.1:9000")), "127.0.0.1:9000");
  assert.equal(formatTcpAddr(resolveAddr("[::1]:9000")), "[::1]:9000");
  assert.equal(formatTcpAddr(resolveAddr("::1:9000")), "[::1]:9000"); // unbracketed, from old tor
  assert.throws(() => resolveAddr("localhost:9000"), { message: 'not an IP string: "localhost"' });
  assert.throws(() => resolveAddr(":9000"), { message: 'address string ":9000" lacks a host part' });
  assert.throws(() => resolveAddr("1.2.3.4:"), { message: 'address string "1.2.3.4:" lacks a port part' });
  assert.throws(() => resolveAddr("1.2.3.4:70000"), AddrError);
  assert.throws(() => resolveAddr("1.2.3.4"), AddrError);
});

Deno.test("isLocalIp/isLoopbackIp/isLinkLocalIp/isNonPublicIp: the proxy's address classes", () => {
  const rows: [string, { local: boolean; loopback: boolean; linkLocal: boolean; nonPublic: boolean }][] = [
    ["10.1.2.3", { local: true, loopback: false, linkLocal: false, nonPublic: true }],
    ["172.16.0.1", { local: true, loopback: false, linkLocal: false, nonPublic: true }],
    ["172.31.255.255", { local: true, loopback: false, linkLocal: false, nonPublic: true }],
    ["172.32.0.1", { local: false, loopback: false, linkLocal: false, nonPublic: false }], // just past /12
    ["192.168.1.1", { local: true, loopback: false, linkLocal: false, nonPublic: true }],
    ["100.64.0.1", { local: true, loopback: false, linkLocal: false, nonPublic: true }], // RFC 6598
    ["100.128.0.1", { local: false, loopback: false, linkLocal: false, nonPublic: false }],
    ["169.254.1.1", { local: true, loopback: false, linkLocal: true, nonPublic: true }],
    ["127.0.0.1", { local: false, loopback: true, linkLocal: false, nonPublic: true }],
    ["127.9.9.9", { local: false, loopback: true, linkLocal: false, nonPublic: true }],
    ["0.0.0.0", { local: false, loopback: false, linkLocal: false, nonPublic: true }],
    ["192.0.2.1", { local: false, loopback: false, linkLocal: false, nonPublic: false }], // TEST-NET-1
    ["8.8.8.8", { local: false, loopback: false, linkLocal: false, nonPublic: false }],
    ["::1", { local: false, loopback: true, linkLocal: false, nonPublic: true }],
    ["::", { local: false, loopback: false, linkLocal: false, nonPublic: true }],
    ["fe80::1", { local: false, loopback: false, linkLocal: true, nonPublic: true }],
    ["febf::1", { local: false, loopback: false, linkLocal: true, nonPublic: true }],
    ["fec0::1", { local: false, loopback: false, linkLocal: false, nonPublic: false }],
    ["fd00::1", { local: true, loopback: false, linkLocal: false, nonPublic: true }],
    ["fc00::1", { local: true, loopback: false, linkLocal: false, nonPublic: true }],
    ["2001:db8::1", { local: false, loopback: false, linkLocal: false, nonPublic: false }],
    ["::ffff:10.0.0.1", { local: true, loopback: false, linkLocal: false, nonPublic: true }], // mapped = IPv4
    ["::ffff:127.0.0.1", { local: false, loopback: true, linkLocal: false, nonPublic: true }],
  ];
  for (const [text, want] of rows) {
    const ip = parseIp(text)!;
    assert.deepEqual(
      {
        local: isLocalIp(ip),
        loopback: isLoopbackIp(ip),
        linkLocal: isLinkLocalIp(ip),
        nonPublic: isNonPublicIp(ip),
      },
      want,
      text,
    );
  }
});
