/**
 * The configuration options reach pion: loopback candidates, stripping of
 * local addresses (SNOWFLAKE-PROTOCOL.md §7.5 step 4), the UDP port range,
 * mDNS, the ICE gathering timeout, the outbound address, and unordered/unreliable channels.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  encodePeerConfig,
  type RTCConfiguration,
  RTCPeerConnection,
  waitForIceGatheringComplete,
} from "../../lib/webrtc/mod.ts";
import { Logger } from "../../lib/util/log.ts";
import { connectPair } from "./connect.ts";
import { within } from "./within.ts";

interface Candidate {
  address: string;
  port: number;
  type: string;
}

/** The candidates of `pc`'s local description once gathering completed. */
async function gather(config: RTCConfiguration): Promise<Candidate[]> {
  const pc = new RTCPeerConnection(config);
  try {
    pc.createDataChannel("x");
    await pc.setLocalDescription();
    await waitForIceGatheringComplete(pc, AbortSignal.timeout(10_000));
    return candidates(pc.localDescription!.sdp);
  } finally {
    pc.close();
  }
}

function candidates(sdp: string): Candidate[] {
  return sdp.split("\r\n").filter((line) => line.startsWith("a=candidate:")).map((line) => {
    const fields = line.split(" ");
    return { address: fields[4], port: Number(fields[5]), type: fields[7] };
  });
}

/** Private, CGNAT, link-local IPv4, unique-local IPv6, loopback, unspecified: what Snowflake strips. */
function isLocalAddress(address: string): boolean {
  if (address.includes(":")) return /^(f[cd]|::1$|::$)/i.test(address);
  const [a, b] = address.split(".").map(Number);
  return a === 10 || a === 127 || a === 0 || (a === 172 && (b & 0xf0) === 16) || (a === 192 && b === 168) ||
    (a === 100 && (b & 0xc0) === 64) || (a === 169 && b === 254);
}

Deno.test("webrtc config: loopback candidates only when asked", async () => {
  const without = await gather({});
  const withLoopback = await gather({ includeLoopbackCandidates: true });
  assert.ok(!without.some((c) => c.address === "127.0.0.1"), JSON.stringify(without));
  assert.ok(withLoopback.some((c) => c.address === "127.0.0.1"), JSON.stringify(withLoopback));
});

Deno.test("webrtc config: stripLocalAddresses removes local host candidates from localDescription", async () => {
  const kept = await gather({ includeLoopbackCandidates: true });
  const stripped = await gather({ includeLoopbackCandidates: true, stripLocalAddresses: true });
  assert.ok(kept.some((c) => isLocalAddress(c.address)), JSON.stringify(kept));
  assert.deepEqual(stripped.filter((c) => isLocalAddress(c.address)), []);
  // Exactly the local ones go: the others stay (ports differ between the two gatherings).
  assert.equal(stripped.length, kept.filter((c) => !isLocalAddress(c.address)).length);
});

Deno.test("webrtc config: ICE binds only ports in portRange", async () => {
  const min = 40_000 + Math.floor(Math.random() * 20_000);
  const found = await gather({ includeLoopbackCandidates: true, portRange: { min, max: min + 19 } });
  assert.ok(found.length > 0);
  for (const candidate of found) {
    assert.ok(candidate.port >= min && candidate.port <= min + 19, `port ${candidate.port} outside ${min}..`);
  }
});

Deno.test("webrtc config: outboundAddress of this host limits host candidates to it, and ICE connects", async () => {
  const all = await gather({ includeLoopbackCandidates: true });
  const limited = await gather({ includeLoopbackCandidates: true, outboundAddress: "127.0.0.1" });
  assert.ok(all.some((c) => c.address !== "127.0.0.1"), JSON.stringify(all));
  assert.ok(limited.length > 0);
  assert.deepEqual(limited.filter((c) => c.address !== "127.0.0.1"), [], JSON.stringify(limited));
  const pair = await connectPair({}, { includeLoopbackCandidates: true, outboundAddress: "127.0.0.1" });
  try {
    const got = new Promise<string>((resolve) => pair.remote.onmessage = (e) => resolve(String(e.data)));
    pair.local.send("via the outbound address");
    assert.equal(await within(got, 10_000, () => "no message"), "via the outbound address");
  } finally {
    pair.close();
  }
});

Deno.test("webrtc config: another outboundAddress replaces the host candidates' address and is not stripped", async () => {
  // 10.1.2.3 is on no interface here (a public address in front of a 1:1 NAT, say) and is private:
  // stripLocalAddresses would drop it, were it not the configured outbound address.
  const mapped = await gather({ stripLocalAddresses: true, outboundAddress: "10.1.2.3" });
  const hosts = mapped.filter((c) => c.type === "host");
  assert.ok(hosts.length > 0, JSON.stringify(mapped));
  assert.deepEqual(hosts.filter((c) => c.address !== "10.1.2.3"), [], JSON.stringify(hosts));
  assert.throws(() => encodePeerConfig({ outboundAddress: "proxy.example" }), /outboundAddress .* not an IP/);
});

Deno.test("webrtc config: mDNS host names only with mdns query-and-gather", async () => {
  const plain = await gather({});
  const mdns = await gather({ mdns: "query-and-gather" });
  assert.ok(!plain.some((c) => c.address.endsWith(".local")));
  assert.ok(mdns.length > 0 && mdns.every((c) => c.address.endsWith(".local")), JSON.stringify(mdns));
});

Deno.test("webrtc config: iceGatheringTimeoutMs completes gathering while a STUN server stays silent", async () => {
  // A UDP socket that never answers: pion alone waits 5 s for it before completing.
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
  const pc = new RTCPeerConnection({
    iceServers: [{ urls: `stun:127.0.0.1:${silent.address().port}` }],
    iceGatheringTimeoutMs: 200,
  });
  try {
    const states: string[] = [];
    pc.onicegatheringstatechange = () => states.push(pc.iceGatheringState);
    const endOfCandidates = new Promise((resolve) => pc.onicecandidate = (event) => resolve(event.candidate));
    pc.createDataChannel("x");
    await pc.setLocalDescription();
    // Well short of pion's 5 s, well above the 200 ms asked for.
    await waitForIceGatheringComplete(pc, AbortSignal.timeout(4_000));
    assert.deepEqual(states, ["gathering", "complete"]);
    assert.equal(await endOfCandidates, null);
    assert.ok(candidates(pc.localDescription!.sdp).some((c) => c.type === "host"));
  } finally {
    pc.close();
    await new Promise<void>((resolve) => silent.close(resolve));
  }
});

Deno.test("webrtc config: an unordered channel with maxRetransmits 0 is announced as such and carries messages", async () => {
  const pair = await connectPair({ ordered: false, maxRetransmits: 0 });
  try {
    for (const channel of [pair.local, pair.remote]) {
      assert.equal(channel.ordered, false);
      assert.equal(channel.maxRetransmits, 0);
      assert.equal(channel.maxPacketLifeTime, null);
    }
    // Loopback does not lose packets, so all arrive (in some order).
    const received = new Set<string>();
    const all = new Promise<void>((resolve) => {
      pair.remote.onmessage = (event) => {
        received.add(event.data as string);
        if (received.size === 100) resolve();
      };
    });
    for (let i = 0; i < 100; i++) pair.local.send(`m${i}`);
    await within(all, 10_000, () => `only ${received.size} of 100 arrived`);
  } finally {
    pair.close();
  }
});

Deno.test("webrtc config: pion's warnings go to the configured Logger", async () => {
  const lines: string[] = [];
  const warned = Promise.withResolvers<void>();
  const logger = new Logger((line) => {
    lines.push(line);
    if (/mDNS is disabled/.test(line)) warned.resolve();
  });
  const offerer = new RTCPeerConnection({ mdns: "query-and-gather" });
  const answerer = new RTCPeerConnection({ logger }); // mDNS disabled: it cannot use the offer's .local candidates
  try {
    offerer.createDataChannel("x");
    await offerer.setLocalDescription();
    await waitForIceGatheringComplete(offerer, AbortSignal.timeout(10_000));
    await answerer.setRemoteDescription(offerer.localDescription!);
    await answerer.setLocalDescription();
    await within(warned.promise, 10_000, () => `no warning in ${JSON.stringify(lines)}`);
    assert.match(
      lines.find((line) => /mDNS is disabled/.test(line))!,
      /webrtc: pion\/ice: remote mDNS candidate/,
    );
  } finally {
    offerer.close();
    answerer.close();
  }
});

Deno.test("webrtc config: the JSON handed to the shim", () => {
  assert.equal(
    encodePeerConfig({
      iceServers: [{ urls: "stun:stun.example:3478" }, {
        urls: ["turn:t.example"],
        username: "u",
        credential: "p",
      }],
      includeLoopbackCandidates: true,
      portRange: { min: 10000, max: 10010 },
      iceGatheringTimeoutMs: 500,
    }),
    JSON.stringify({
      iceServers: [
        { urls: ["stun:stun.example:3478"], username: "", credential: "" },
        { urls: ["turn:t.example"], username: "u", credential: "p" },
      ],
      includeLoopbackCandidates: true,
      stripLocalAddresses: false,
      portMin: 10000,
      portMax: 10010,
      mdns: "disabled",
      iceGatheringTimeoutMs: 500,
      outboundAddress: "",
    }),
  );
});
