/**
 * The event framing swrtc_poll (and so swrtc_wait_poll) writes (lib/webrtc/native/events.go), decoded
 * without I/O: one poll returns every ready event, back to back, each
 *
 *     kind u8 | handle i32 LE | length u32 LE | payload (length bytes)
 */

export const EVENT_HEADER_SIZE = 9;

/** Event kinds; payloads as described next to each (keep in step with events.go). */
export const EventKind = {
  /** A data channel opened; payload: its SCTP stream id, i32 (-1 for none yet). */
  ChannelOpen: 1,
  /** A binary message; payload: the bytes. */
  ChannelBinary: 2,
  /** A text message; payload: UTF-8. */
  ChannelText: 3,
  /** The channel closed; the native handle is gone afterwards. */
  ChannelClose: 4,
  /** bufferedAmount fell to the low threshold; payload: bufferedAmount u32. */
  ChannelBufferedAmountLow: 5,
  /** The channel failed; payload: pion's message. */
  ChannelError: 6,
  /** payload: the new connectionState. */
  PeerConnectionState: 7,
  /** payload: the new iceConnectionState. */
  PeerIceConnectionState: 8,
  /** payload: the new iceGatheringState. */
  PeerIceGatheringState: 9,
  /** payload: the new signalingState. */
  PeerSignalingState: 10,
  /** The remote side opened a channel; payload: channel handle u32, then its description as JSON. */
  PeerDataChannel: 11,
  /** A pion warning or error; payload: level u8 (2 warn, 3 error), then the line. */
  PeerLog: 12,
  /** The shim finished closing a peer connection; nobody listens, it only wakes the pump. */
  PeerClosed: 13,
} as const;

export interface NativeEvent {
  kind: number;
  handle: number;
  /** A view into the poll buffer: valid until the next poll. */
  payload: Uint8Array;
}

/** Decodes the event at `offset` of `buf[0, end)`; returns it and the next offset. Throws on a cut event. */
export function decodeEvent(buf: Uint8Array, offset: number, end: number): [NativeEvent, number] {
  if (end - offset < EVENT_HEADER_SIZE) throw new RangeError(`event header cut at ${offset}`);
  // Read by hand rather than through a DataView: this runs once per message.
  const handle = buf[offset + 1] | buf[offset + 2] << 8 | buf[offset + 3] << 16 | buf[offset + 4] << 24;
  const length = (buf[offset + 5] | buf[offset + 6] << 8 | buf[offset + 7] << 16 | buf[offset + 8] << 24) >>>
    0;
  const next = offset + EVENT_HEADER_SIZE + length;
  if (next > end) {
    throw new RangeError(
      `event payload cut at ${offset}: ${length} bytes, ${end - offset - EVENT_HEADER_SIZE} left`,
    );
  }
  return [{ kind: buf[offset], handle, payload: buf.subarray(offset + EVENT_HEADER_SIZE, next) }, next];
}
