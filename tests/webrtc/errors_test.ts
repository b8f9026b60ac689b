/**
 * Misuse and bad input give clear errors and never crash the process: bad
 * SDP, sending on a channel that is not open, double close, calls on a closed
 * connection, bad configuration. (A missing native library: loader_test.ts.)
 */

import assert from "node:assert/strict";
import { MAX_MESSAGE_SIZE, nativeStats, RTCPeerConnection, WebRTCError } from "../../lib/webrtc/mod.ts";
import { connectPair } from "./connect.ts";

const isInvalidState = (error: unknown) =>
  error instanceof DOMException && error.name === "InvalidStateError";

Deno.test("webrtc: bad SDP is rejected with pion's message", async () => {
  const pc = new RTCPeerConnection();
  try {
    // No remote offer to answer yet.
    await assert.rejects(pc.createAnswer(), WebRTCError);
    await assert.rejects(
      pc.setRemoteDescription({ type: "offer", sdp: "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" }),
      (error: Error) => error instanceof WebRTCError && /ice-ufrag/.test(error.message),
    );
    await assert.rejects(
      pc.setRemoteDescription({ type: "bogus" as "offer", sdp: "v=0" }),
      (error: Error) => error instanceof TypeError && /bogus/.test(error.message),
    );
    // An answer with no offer made: pion's signalling-state error.
    await assert.rejects(
      pc.setRemoteDescription({ type: "answer", sdp: "v=0\r\n" }),
      (error: Error) => error instanceof WebRTCError && /signaling state/.test(error.message),
    );
  } finally {
    pc.close();
  }
});

Deno.test("webrtc: send before open, after close, too large or a Blob throws; double close is a no-op", async () => {
  const waiting = new RTCPeerConnection();
  const early = waiting.createDataChannel("early");
  assert.equal(early.readyState, "connecting");
  assert.throws(() => early.send("x"), isInvalidState);
  waiting.close();
  waiting.close();
  assert.equal(early.readyState, "closed");
  assert.throws(() => early.send("x"), isInvalidState);

  const pair = await connectPair();
  try {
    assert.throws(() => pair.local.send(new Uint8Array(MAX_MESSAGE_SIZE + 1)), TypeError);
    assert.throws(() => pair.local.send(new Blob(["x"])), TypeError);
    const closedRemotely = new Promise((resolve) => pair.remote.onclose = resolve);
    const closedLocally = new Promise((resolve) => pair.local.onclose = resolve);
    pair.local.close();
    pair.local.close();
    assert.equal(pair.local.readyState, "closing");
    assert.throws(() => pair.local.send("x"), isInvalidState);
    await Promise.all([closedLocally, closedRemotely]);
    assert.equal(pair.local.readyState, "closed");
    assert.equal(pair.remote.readyState, "closed");
    assert.throws(() => pair.remote.send("x"), isInvalidState);
    pair.remote.close();
  } finally {
    pair.close();
    pair.close();
  }
  assert.equal(nativeStats().handles, 0);
});

Deno.test("webrtc: sending past the 16 MiB send buffer is an OperationError, not unbounded memory", async () => {
  const pair = await connectPair();
  try {
    // One synchronous loop: the receiving side's events are not drained meanwhile, so its
    // queue (4 MiB) and SCTP window fill up and the sender's buffer grows to the bound.
    const message = new Uint8Array(60_000);
    let error: unknown = null;
    let sent = 0;
    for (; sent < 40 << 20 && error === null; sent += message.length) {
      try {
        pair.local.send(message);
      } catch (caught) {
        error = caught;
      }
    }
    assert.ok(error instanceof DOMException && error.name === "OperationError", String(error));
    assert.match(error.message, /send buffer full/);
    assert.ok(sent > 16 << 20, `failed after ${sent} bytes`);
    assert.equal(pair.local.readyState, "open"); // the channel stays usable
  } finally {
    pair.close();
  }
  assert.equal(nativeStats().handles, 0);
});

Deno.test("webrtc: a closed connection refuses calls with InvalidStateError", async () => {
  const pc = new RTCPeerConnection();
  pc.close();
  assert.equal(pc.connectionState, "closed");
  assert.equal(pc.signalingState, "closed");
  assert.equal(pc.localDescription, null);
  await assert.rejects(pc.createOffer(), isInvalidState);
  await assert.rejects(pc.setRemoteDescription({ type: "offer", sdp: "v=0" }), isInvalidState);
  assert.throws(() => pc.createDataChannel("x"), isInvalidState);
});

Deno.test("webrtc: bad configuration and data channel options throw TypeError or pion's error", () => {
  assert.throws(() => new RTCPeerConnection({ portRange: { min: 0, max: 10 } }), TypeError);
  assert.throws(() => new RTCPeerConnection({ portRange: { min: 20, max: 10 } }), TypeError);
  assert.throws(() => new RTCPeerConnection({ iceServers: [{ urls: [] }] }), TypeError);
  assert.throws(() => new RTCPeerConnection({ mdns: "on" as "disabled" }), TypeError);
  assert.throws(() => new RTCPeerConnection({ iceGatheringTimeoutMs: -1 }), TypeError);
  assert.throws(
    () => new RTCPeerConnection({ iceServers: [{ urls: "http://stun.example" }] }),
    (error: Error) => error instanceof WebRTCError && /scheme/.test(error.message),
  );
  const pc = new RTCPeerConnection();
  try {
    assert.throws(() => pc.createDataChannel("x", { maxRetransmits: 0, maxPacketLifeTime: 10 }), TypeError);
    assert.throws(() => pc.createDataChannel("x", { negotiated: true }), TypeError);
    assert.throws(() => pc.createDataChannel("x", { maxRetransmits: 70000 }), TypeError);
  } finally {
    pc.close();
  }
  assert.equal(nativeStats().handles, 0);
});
