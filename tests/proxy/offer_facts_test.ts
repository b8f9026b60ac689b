import assert from "node:assert/strict";
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  maxMessageSizeFromSdp,
  remoteIpFromSdp,
} from "../../lib/proxy/offer_facts.ts";

const sdp = (...lines: string[]) => ["v=0", "o=- 1 2 IN IP4 0.0.0.0", "s=-", ...lines, ""].join("\r\n");

Deno.test("remoteIpFromSdp: the first public candidate, else a public c= line (Go remoteIPFromSDP)", () => {
  const rows: [string, string | undefined][] = [
    [
      sdp(
        "a=candidate:1 1 udp 2130706431 192.168.1.5 5000 typ host",
        "a=candidate:2 1 udp 1694498815 1.2.3.4 6000 typ srflx",
      ),
      "1.2.3.4",
    ],
    [
      sdp(
        "a=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host",
        "a=candidate:2 1 udp 1 127.0.0.1 5 typ host",
      ),
      undefined,
    ],
    [sdp("a=candidate:1 1 udp 2130706431 2001:db8::5 5000 typ host"), "2001:db8::5"],
    [sdp("c=IN IP4 5.6.7.8", "a=candidate:1 1 udp 2130706431 10.0.0.1 5000 typ host"), "5.6.7.8"],
    [sdp("c=IN IP4 0.0.0.0"), undefined],
    [sdp("c=IN IP6 2001:db8::9"), "2001:db8::9"],
    [sdp("a=candidate:1 1 udp 2130706431 host.local 5000 typ host"), undefined], // mDNS name, not an IP
    [sdp("a=candidate:garbage"), undefined],
    ["not sdp at all", undefined],
  ];
  for (const [text, want] of rows) assert.equal(remoteIpFromSdp(text), want, text);
});

Deno.test("maxMessageSizeFromSdp: RFC 8841, 65,536 when absent, 0 means no limit", () => {
  assert.equal(
    maxMessageSizeFromSdp(sdp("m=application 9 UDP/DTLS/SCTP webrtc-datachannel")),
    DEFAULT_MAX_MESSAGE_SIZE,
  );
  assert.equal(maxMessageSizeFromSdp(sdp("a=max-message-size:262144")), 262_144);
  assert.equal(maxMessageSizeFromSdp(sdp("a=max-message-size:1200")), 1200);
  assert.equal(maxMessageSizeFromSdp(sdp("a=max-message-size:0")), Infinity);
  assert.equal(maxMessageSizeFromSdp(sdp("a=max-message-size:abc")), DEFAULT_MAX_MESSAGE_SIZE);
});
