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

Deno.test("scrubAddresses: safelog messages", () => {
  for (const [input, expected] of MESSAGES) assert.equal(scrubAddresses(input), expected, input);
});

Deno.test("scrubAddresses: every address format becomes [scrubbed]", () => {
  for (const address of FORMATS) assert.equal(scrubAddresses(address), "[scrubbed]", address);
});

Deno.test("scrubAddresses: several lines", () => {
  assert.equal(scrubAddresses("a 10.0.0.1\nb 10.0.0.2:9"), "a [scrubbed]\nb [scrubbed]");
});
