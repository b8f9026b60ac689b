/**
 * Bulk transfer over one data channel for the WebRTC tests and bench: send
 * random bytes with bufferedAmount back-pressure, receive and hash. Used by
 * the in-process test and by peer_program.ts (the TS side of the
 * cross-process test and bench), mirroring go_peer/main.go.
 */

import { createHash } from "node:crypto";
import type { RTCDataChannel } from "../../lib/webrtc/mod.ts";

/** Stop sending above this bufferedAmount... */
export const HIGH_WATER = 1 << 20;
/** ...and resume when "bufferedamountlow" says it fell to this. */
export const LOW_WATER = 256 << 10;
/** Messages are slices of one random pool at shifting offsets, so making data costs next to nothing. */
const POOL_SIZE = 1 << 20;

/** Sends `total` random bytes in `size`-byte messages; resolves to their sha256 (hex). */
export async function sendRandom(channel: RTCDataChannel, total: number, size: number): Promise<string> {
  const pool = new Uint8Array(POOL_SIZE + size);
  for (let i = 0; i < pool.length; i += 65536) crypto.getRandomValues(pool.subarray(i, i + 65536));
  const hash = createHash("sha256");
  channel.bufferedAmountLowThreshold = LOW_WATER;
  for (let sent = 0; sent < total;) {
    while (channel.bufferedAmount > HIGH_WATER) await drained(channel);
    const offset = Math.floor(sent / 7) % POOL_SIZE;
    const message = pool.subarray(offset, offset + Math.min(size, total - sent));
    channel.send(message);
    hash.update(message);
    sent += message.length;
  }
  return hash.digest("hex");
}

/** Resolves at the next "bufferedamountlow"; rejects if the channel closes first. */
function drained(channel: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const onLow = () => {
      channel.removeEventListener("close", onClose);
      resolve();
    };
    const onClose = () => {
      channel.removeEventListener("bufferedamountlow", onLow);
      reject(new Error(`data channel ${channel.label} closed while sending`));
    };
    channel.addEventListener("bufferedamountlow", onLow, { once: true });
    channel.addEventListener("close", onClose, { once: true });
  });
}

/** Receives until `expect` bytes have arrived; resolves to their count and sha256 (hex). */
export function receiveHashed(
  channel: RTCDataChannel,
  expect: number,
): Promise<{ received: number; sha256: string }> {
  const hash = createHash("sha256");
  let received = 0;
  return new Promise((resolve, reject) => {
    const done = () => {
      channel.onmessage = null;
      channel.removeEventListener("close", onClose);
      resolve({ received, sha256: hash.digest("hex") });
    };
    const onClose = () =>
      reject(new Error(`data channel ${channel.label} closed after ${received} of ${expect} bytes`));
    channel.addEventListener("close", onClose, { once: true });
    channel.onmessage = (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      hash.update(bytes);
      received += bytes.length;
      if (received >= expect) done();
    };
    if (expect === 0) done();
  });
}

/** Resolves when `channel` is open; rejects if it closes first. */
export function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    channel.addEventListener("open", () => resolve(), { once: true });
    channel.addEventListener("close", () => reject(new Error(`data channel ${channel.label} closed`)), {
      once: true,
    });
  });
}
