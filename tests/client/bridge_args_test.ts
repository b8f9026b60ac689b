/** Bridge-line parameters from real Tor Browser snowflake lines, and bad values. */

import assert from "node:assert/strict";
import {
  BridgeArgsError,
  type ClientTransportOptions,
  MAX_PROXIES_LIMIT,
  parseBridgeArgs,
} from "../../lib/client/bridge_args.ts";
import { parseClientParameters, type PtArgs } from "../../lib/pt/args.ts";

const BASE: ClientTransportOptions = { brokerUrl: "", fronts: [], iceServers: [], max: 1 };

/** What tor puts in the SOCKS credentials for a `Bridge` line: its `k=v` items, `;`-joined, `\`-escaped. */
function bridgeLineArgs(line: string): PtArgs {
  const items = line.trim().split(/\s+/).slice(3);
  return parseClientParameters(items.map((item) => item.replace(/[\\;]/g, (c) => "\\" + c)).join(";"));
}

// Tor Browser's built-in snowflake lines (pt_config.json, as shipped in 2024): CDN77 fronting, two fronts, uTLS.
const TB_CDN77 =
  "snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72 url=https://1098762253.rsc.cdn77.org/ fronts=www.cdn77.com,www.phpmyadmin.net ice=stun:stun.antisip.com:3478,stun:stun.epygi.com:3478,stun:stun.uls.co.za:3478,stun:stun.voipgate.com:3478,stun:stun.mixvoip.com:3478,stun:stun.nextcloud.com:3478,stun:stun.bethesda.net:3478,stun:stun.nextcloud.com:443 utls-imitate=hellorandomizedalpn";
const TB_CDN77_SECOND =
  "snowflake 192.0.2.4:80 8838024498816A039FCBBAB14E6F40A0843051FA fingerprint=8838024498816A039FCBBAB14E6F40A0843051FA url=https://1098762253.rsc.cdn77.org/ fronts=www.cdn77.com,www.phpmyadmin.net ice=stun:stun.antisip.com:3478,stun:stun.epygi.com:3478 utls-imitate=hellorandomizedalpn";
// The reference client's torrc line (SNOWFLAKE-PROTOCOL.md §7.2): Fastly, one front.
const GO_TORRC =
  "snowflake 192.0.2.3:1 2B280B23E1107BB62ABFC40DDCC8824814F80A72 fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72 url=https://snowflake-broker.torproject.net.global.prod.fastly.net/ front=cdn.sstatic.net ice=stun:stun.voip.blackberry.com:3478,stun:stun.antisip.com:3478";
// An AMP cache line (SNOWFLAKE-PROTOCOL.md §5.5's example settings).
const AMP =
  "snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 url=https://snowflake-broker.torproject.net/ ampcache=https://cdn.ampproject.org/ front=www.google.com ice=stun:stun.l.google.com:19302 utls-imitate=hellorandomizedalpn";
// Shaped like Tor Browser's SQS line (credentials replaced): sqsqueue and sqscreds instead of url.
const SQS =
  "snowflake 192.0.2.5:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72 sqsqueue=https://sqs.us-east-1.amazonaws.com/000000000000/snowflake-broker sqscreds=eyJhd3MtYWNjZXNzLWtleS1pZCI6IkVYQU1QTEUiLCJhd3Mtc2VjcmV0LWtleSI6IkVYQU1QTEUifQ== ice=stun:stun.antisip.com:3478 utls-imitate=hellorandomizedalpn";

Deno.test("bridge args: Tor Browser's CDN77 line (fronts, eight ICE servers, uTLS reported)", () => {
  const { options, unsupported } = parseBridgeArgs(bridgeLineArgs(TB_CDN77), BASE);
  assert.deepEqual(options, {
    brokerUrl: "https://1098762253.rsc.cdn77.org/",
    fronts: ["www.cdn77.com", "www.phpmyadmin.net"],
    iceServers: [
      "stun:stun.antisip.com:3478",
      "stun:stun.epygi.com:3478",
      "stun:stun.uls.co.za:3478",
      "stun:stun.voipgate.com:3478",
      "stun:stun.mixvoip.com:3478",
      "stun:stun.nextcloud.com:3478",
      "stun:stun.bethesda.net:3478",
      "stun:stun.nextcloud.com:443",
    ],
    max: 1,
    fingerprint: "2B280B23E1107BB62ABFC40DDCC8824814F80A72",
  });
  assert.deepEqual(unsupported.map((u) => u.name), ["utls-imitate"]);
  assert.match(unsupported[0].why, /hellorandomizedalpn.*Deno's TLS/);
  const second = parseBridgeArgs(bridgeLineArgs(TB_CDN77_SECOND), BASE).options;
  assert.equal(second.fingerprint, "8838024498816A039FCBBAB14E6F40A0843051FA");
});

Deno.test("bridge args: the Go client's torrc line (one front), and the AMP line", () => {
  let { options, unsupported } = parseBridgeArgs(bridgeLineArgs(GO_TORRC), BASE);
  assert.equal(options.brokerUrl, "https://snowflake-broker.torproject.net.global.prod.fastly.net/");
  assert.deepEqual(options.fronts, ["cdn.sstatic.net"]);
  assert.equal(options.ampCacheUrl, undefined);
  assert.deepEqual(unsupported, []);
  ({ options, unsupported } = parseBridgeArgs(bridgeLineArgs(AMP), BASE));
  assert.equal(options.ampCacheUrl, "https://cdn.ampproject.org/");
  assert.deepEqual(options.fronts, ["www.google.com"]);
  assert.equal(options.fingerprint, undefined);
});

Deno.test("bridge args: an SQS-only line is refused clearly; with url= the SQS keys are reported", () => {
  assert.throws(() => parseBridgeArgs(bridgeLineArgs(SQS), BASE), /only SQS rendezvous.*add url=/);
  const { options, unsupported } = parseBridgeArgs(bridgeLineArgs(SQS), {
    ...BASE,
    brokerUrl: "https://b.example/",
  });
  assert.equal(options.brokerUrl, "https://b.example/");
  assert.deepEqual(unsupported.map((u) => u.name), ["utls-imitate", "sqsqueue", "sqscreds"]);
  assert.match(unsupported[1].why, /AWS SQS API/);
});

Deno.test("bridge args: the command line's options stay unless a key overrides them; fronts wins over front", () => {
  const base: ClientTransportOptions = {
    brokerUrl: "https://flag.example/",
    fronts: ["flag-front.example"],
    iceServers: ["stun:192.0.2.1:3478"],
    max: 3,
    ampCacheUrl: "https://amp.example/",
  };
  assert.deepEqual(parseBridgeArgs(parseClientParameters(""), base).options, base);
  const args = parseClientParameters("front=one.example;fronts=two.example, three.example;max=2;ampcache=");
  const { options } = parseBridgeArgs(args, base);
  assert.deepEqual(options.fronts, ["two.example", "three.example"]);
  assert.equal(options.max, 2);
  assert.equal(options.ampCacheUrl, undefined);
  assert.deepEqual(base.fronts, ["flag-front.example"], "base is not modified");
  // first value of a repeated key, as goptlib's Args.Get
  assert.equal(parseBridgeArgs(parseClientParameters("max=4;max=5"), base).options.max, 4);
  // padding= (ours): idle ms, 0 or off for none
  assert.equal(parseBridgeArgs(parseClientParameters("padding=250"), base).options.paddingIdleMs, 250);
  assert.equal(parseBridgeArgs(parseClientParameters("padding=off"), base).options.paddingIdleMs, 0);
  assert.equal(parseBridgeArgs(parseClientParameters(""), base).options.paddingIdleMs, undefined);
  // utls-nosni and unknown keys are reported, not dropped silently
  const reported = parseBridgeArgs(parseClientParameters("utls-nosni=true;color=blue"), base).unsupported;
  assert.deepEqual(reported.map((u) => u.name), ["utls-nosni", "color"]);
});

Deno.test("bridge args: bad values are BridgeArgsErrors naming the key", () => {
  const base: ClientTransportOptions = { ...BASE, brokerUrl: "https://b.example/", iceServers: ["stun:a:1"] };
  const bad: [string, RegExp][] = [
    ["max=0", /max=0: must be at least 1/],
    ["max=abc", /max=abc: not a whole number/],
    ["max=-1", /max=-1: not a whole number/],
    ["max=1.5", /not a whole number/],
    [`max=${MAX_PROXIES_LIMIT + 1}`, /at most/],
    ["url=not a url", /url=not a url: not a URL/],
    ["url=ftp://b.example/", /not an http or https URL/],
    ["ampcache=//x", /ampcache=\/\/x: not a URL/],
    ["front=a/b", /front=a\/b: "a\/b" is not a domain name/],
    ["fronts=ok.example,bad front", /is not a domain name/],
    ["ice=", /ice=: no ICE servers/],
    ["ice=stun:a:1,http://b/", /"http:\/\/b\/" is not a stun: or turn: URL/],
    ["fingerprint=XYZ", /fingerprint=XYZ: not 40 or 64 hex digits/],
    ["padding=5", /padding=5: must be 0 \(off\) or 10–60000 ms/],
    ["padding=on", /padding=on: not a whole number of ms/],
    ["padding=60001", /padding=60001: must be/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseBridgeArgs(parseClientParameters(text), base), BridgeArgsError, text);
    assert.throws(() => parseBridgeArgs(parseClientParameters(text), base), message, text);
  }
  assert.throws(() => parseBridgeArgs(parseClientParameters("max=2"), BASE), /no broker URL/);
  assert.throws(() => parseBridgeArgs(parseClientParameters("url=https://b/"), BASE), /no ICE servers/);
});
