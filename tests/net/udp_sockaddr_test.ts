/**
 * The sockaddr codec of the libc UDP socket (tests/support/udp/udp_sockaddr.ts): byte
 * layouts, IPv4-mapped addresses, bad input. (IP text itself is lib/net/addr.ts's,
 * tested there.)
 */

import assert from "node:assert/strict";
import { AF_INET, AF_INET6 } from "../support/udp/udp_libc.ts";
import { decodeSockaddr, encodeSockaddr } from "../support/udp/udp_sockaddr.ts";

Deno.test("sockaddr_in: family (host order), port (network order), address, zero padding", () => {
  assert.deepEqual(
    encodeSockaddr("127.0.0.1:4660", AF_INET),
    new Uint8Array([2, 0, 0x12, 0x34, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
  );
  assert.equal(
    decodeSockaddr(new Uint8Array([2, 0, 0x12, 0x34, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0])),
    "10.1.2.3:4660",
  );
});

Deno.test("sockaddr_in6: family, port, flowinfo 0, address, scope 0; IPv4 goes IPv4-mapped", () => {
  const v6 = encodeSockaddr("[2001:db8::1]:443", AF_INET6)!;
  assert.deepEqual(
    v6,
    new Uint8Array([
      10,
      0,
      0x01,
      0xbb,
      0,
      0,
      0,
      0,
      0x20,
      0x01,
      0x0d,
      0xb8,
      ...new Array(11).fill(0),
      1,
      0,
      0,
      0,
      0,
    ]),
  );
  assert.equal(decodeSockaddr(v6), "[2001:db8::1]:443");
  const mapped = encodeSockaddr("127.0.0.1:53", AF_INET6)!;
  assert.deepEqual(
    mapped.subarray(8, 24),
    new Uint8Array([...new Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]),
  );
  assert.equal(decodeSockaddr(mapped), "127.0.0.1:53", "IPv4-mapped reads as plain IPv4, as Go prints it");
});

Deno.test("an IPv6 destination from an IPv4 socket is unreachable (null)", () => {
  assert.equal(encodeSockaddr("[::1]:53", AF_INET), null);
});

Deno.test("IPv6 text: RFC 5952 on the way out, every valid spelling on the way in", () => {
  const cases: [string, string][] = [
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"], // lower case, longest zero run
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"], // the longer run, not the first
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // a tie: the first run
    ["2001:db8:1:1:1:1:0:1", "2001:db8:1:1:1:1:0:1"], // a single zero group stays
    ["fe80::0001:0a", "fe80::1:a"], // leading zeros dropped
    ["::ffff:1.2.3.4", "1.2.3.4"], // IPv4-mapped prints as IPv4 (in a sockaddr)
    ["64:ff9b::192.0.2.1", "64:ff9b::c000:201"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ];
  for (const [text, formatted] of cases) {
    const bytes = encodeSockaddr(`[${text}]:1`, AF_INET6)!;
    const expected = formatted.includes(":") ? `[${formatted}]:1` : `${formatted}:1`;
    assert.equal(decodeSockaddr(bytes), expected, text);
  }
});

Deno.test("a host that is not an IP literal is refused with RangeError", () => {
  for (
    const bad of [
      "localhost", // a name: nothing here resolves names
      "1.2.3", // three parts
      "01.2.3.4", // leading zero (octal elsewhere)
      "[1::2::3]", // two "::"
      "[1:2:3:4:5:6:7]", // seven groups without "::"
      "[1.2.3.4::]", // IPv4 part not at the end
    ]
  ) {
    assert.throws(() => encodeSockaddr(`${bad}:53`, AF_INET6), RangeError, bad);
  }
  assert.throws(() => encodeSockaddr("localhost:53", AF_INET), /not an IP address: "localhost"/);
});

Deno.test("decodeSockaddr refuses what is neither sockaddr_in nor sockaddr_in6", () => {
  assert.throws(() => decodeSockaddr(new Uint8Array([1, 0, 0, 0])), RangeError); // AF_UNIX
  assert.throws(() => decodeSockaddr(new Uint8Array([10, 0, 0, 1, 0, 0])), RangeError); // cut short
});
