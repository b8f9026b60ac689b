import assert from "node:assert/strict";
import { scrubAddresses } from "../../lib/util/scrub.ts";

// Messages and formats from Go Snowflake's common/safelog/log_test.go (SNOWFLAKE-PROTOCOL.md §7.9).
const MESSAGES: [string, string][] = [
  ["http: TLS handshake error from 129.97.208.23:38310: ", "http: TLS handshake error from [scrubbed]: "],
  [
    "http2: panic serving [2620:101:f000:780:9097:75b1:519f:dbb8]:58344: interface conversion",
    "http2: panic serving [scrubbed]: interface conversion",
  ],
  [ // a DTLS fingerprint survives
    "a=fingerprint:sha-256 33:B6:FA:F6:94:CA:74:61:45:4A:D2:1F:2C:2F:75:8A:D9:EB:23:34:B2:30:E9:1B:2A:A6:A9:E0:44:72:CC:74",
    "a=fingerprint:sha-256 33:B6:FA:F6:94:CA:74:61:45:4A:D2:1F:2C:2F:75:8A:D9:EB:23:34:B2:30:E9:1B:2A:A6:A9:E0:44:72:CC:74",
  ],
  ["(1:2:3:4:c:d:e:f) {1:2:3:4:c:d:e:f}", "([scrubbed]) {[scrubbed]}"],
  ["2019/05/08 15:37:31 starting", "2019/05/08 15:37:31 starting"],
  ["version 2.5.1 up", "version 2.5.1 up"],
  [
    "error dialing relay: wss://snowflake.torproject.net/?client_ip=6201%3ac8%3A3004%3A%3A1234",
    "error dialing relay: wss://snowflake.torproject.net/?client_ip=[scrubbed]",
  ],
  [
    "http2: panic serving [fd00%3a111%3af000%3a777%3a9999%3abbbb%3affff%3adddd]:58344: xxx",
    "http2: panic serving [scrubbed]: xxx",
  ],
  [
    "error dialing relay: wss://x/?client_ip=fd00%3A8888%3Abbbb%3Acccc%3Adddd%3Aeeee%3A2222%3A123 = dial tcp xxx",
    "error dialing relay: wss://x/?client_ip=[scrubbed] = dial tcp xxx",
  ],
  ["http2: panic serving [1%3A2%3A3%3A%3Ad%3Ae%3Af]:55: xxx", "http2: panic serving [scrubbed]: xxx"],
  ["x 1.2.3.4:5678 y", "x [scrubbed] y"],
];

const FORMATS = [
  "1.2.3.4",
  "255.255.255.255",
  "1.2.3.4:55",
  "255.255.255.255:65535",
  "1:2:3:4:c:d:e:f",
  "1111:2222:3333:4444:CCCC:DDDD:EEEE:FFFF",
  "[1:2:3:4:c:d:e:f]",
  "[1111:2222:3333:4444:CCCC:DDDD:EEEE:FFFF]:65535",
  "::f",
  "::d:e:f",
  "1:2:3::",
  "1:2:3::d:e:f",
  "1:2:3:d:e:f::",
  "::1:2:3:d:e:f",
  "1111:2222:3333::DDDD:EEEE:FFFF",
  "[::d:e:f]",
  "[1:2:3::]",
  "[1:2:3:4:5:6::8]",
  "[1::7:8]",
  "[1::]:58344",
  "[1111:2222:3333::DDDD:EEEE:FFFF]:65535",
  "::255.255.255.255",
  "::ffff:255.255.255.255",
  "[::ffff:255.255.255.255]:65535",
  "[::ffff:0:255.255.255.255]",
  "[2001:db8:3:4::192.0.2.33]",
];

Deno.test("scrubAddresses: every address format becomes [scrubbed]", () => {
  for (const address of FORMATS) assert.equal(scrubAddresses(address), "[scrubbed]", address);
});

// Addresses safelog keeps because a colon stands before them: a URL scheme or a `key:` word.
const AFTER_A_COLON: [string, string][] = [
  ["stun:192.0.2.1:3478", "stun:[scrubbed]"],
  ["turn:[2001:db8::1]:3478", "turn:[scrubbed]"],
  ["stun:[::ffff:192.0.2.1]:3478", "stun:[scrubbed]"],
  ["turns:2001:db8::1 up", "turns:[scrubbed] up"],
  ["ice servers stun:192.0.2.1:3478,turn:192.0.2.2", "ice servers stun:[scrubbed],turn:[scrubbed]"],
  ["peer addr:192.0.2.7 gone", "peer addr:[scrubbed] gone"],
  ["srflx raddr:192.0.2.9:5000.", "srflx raddr:[scrubbed]."],
];

// Other places an address stands.
const ELSEWHERE: [string, string][] = [
  ["dial ws://1.2.3.4:80/ failed", "dial ws://[scrubbed]/ failed"],
  ["dial wss://[2001:db8::2]:443/?x=1", "dial wss://[scrubbed]/?x=1"],
  ["addr=1.2.3.4 port=5", "addr=[scrubbed] port=5"],
  ["client_ip=::ffff:192.0.2.1&x", "client_ip=[scrubbed]&x"],
  ["from ::ffff:192.0.2.1:9000 ok", "from [scrubbed] ok"],
  ["lost 192.0.2.1:", "lost [scrubbed]:"],
  ["lost 192.0.2.1: timeout", "lost [scrubbed]: timeout"],
  ["(192.0.2.1)", "([scrubbed])"],
];

// Not addresses: left as they are.
const NOT_ADDRESSES = [
  "snowflake-client 2.5.1 started",
  "version:2.5.1",
  "at 18:25:00 UTC",
  "time:18:25:00",
  "2026/12/02 18:25:00.123456 listening",
  "localhost:8080",
  "snowflake.torproject.net:443",
  "a=fingerprint:sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
  "fingerprint:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01",
  "session 1a2b:3c4d closed",
  "ratio 1.25 of 3.5",
];

const REWRITES: Record<string, [string, string][]> = {
  "safelog messages": MESSAGES,
  "an address right after a colon": AFTER_A_COLON,
  "URLs, key=value, IPv4-mapped IPv6, trailing colon": ELSEWHERE,
};
for (const [name, rows] of Object.entries(REWRITES)) {
  Deno.test(`scrubAddresses: ${name}`, () => {
    for (const [input, expected] of rows) assert.equal(scrubAddresses(input), expected, input);
  });
}

Deno.test("scrubAddresses: versions, times, host names and fingerprints survive", () => {
  for (const text of NOT_ADDRESSES) assert.equal(scrubAddresses(text), text);
});

Deno.test("scrubAddresses: several lines", () => {
  assert.equal(scrubAddresses("a 10.0.0.1\nb 10.0.0.2:9"), "a [scrubbed]\nb [scrubbed]");
});
