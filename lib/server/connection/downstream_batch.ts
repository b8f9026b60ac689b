/**
 * Packets to a client as WebSocket messages (SNOWFLAKE-PROTOCOL.md §8.4): the
 * first waiting packet and those queued behind it, each encapsulated (§2.1),
 * in one message of at most {@link CARRIER_MAX_MESSAGE_BYTES}.
 *
 * Why a limit: most proxies run in browsers, which forward each WebSocket
 * message as one RTCDataChannel message; Chromium refuses to send one above
 * 65,536 bytes when the client's offer names no `a=max-message-size` (the Go
 * client's names none, RFC 8841 §6.1 then gives 64 KiB), and 16 KiB is the
 * size every data-channel implementation has always accepted (RFC 8831 §6.6
 * and the browsers' older interop notes). 16 KiB still carries 10 full KCP
 * packets per message, so batching keeps most of its benefit. Go's server
 * sends one packet per message.
 */

import { encodeDataAt, encodedDataLength } from "../../encapsulation/codec.ts";

/** Largest WebSocket message the server sends, bytes: 16 KiB, the interoperable data-channel size. */
export const CARRIER_MAX_MESSAGE_BYTES = 16 * 1024;

/** What a batch is taken from: a client's send queue. */
export interface PacketSource {
  peek(): Uint8Array | undefined;
  tryShift(): Uint8Array | undefined;
}

/**
 * `first`, then the packets of `queue` that fit, encapsulated into one message
 * of at most `maxBytes` (a packet that does not fit stays queued for the next
 * message). `first` alone may exceed `maxBytes` only if it is itself that large;
 * carriers' packets are ≤ 1500 bytes.
 */
export function takeBatch(
  first: Uint8Array,
  queue: PacketSource,
  maxBytes = CARRIER_MAX_MESSAGE_BYTES,
): Uint8Array {
  const packets = [first];
  let size = encodedDataLength(first.length);
  for (let next = queue.peek(); next !== undefined; next = queue.peek()) {
    const more = encodedDataLength(next.length);
    if (size + more > maxBytes) break;
    packets.push(queue.tryShift()!);
    size += more;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const packet of packets) offset = encodeDataAt(packet, out, offset);
  return out;
}
