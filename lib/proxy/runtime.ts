/**
 * What the proxy core needs from its runtime, as W3C shapes: an
 * RTCPeerConnection, a relay connection (a WebSocket whose reads can be
 * paused) and fetch. In Deno these are lib/webrtc's binding, the runtime's
 * WebSocketStream (relay_connection.ts) and fetch; in a web page they are
 * the browser's, so the same core could run there.
 */

import type { RTCConfiguration } from "../webrtc/config.ts";

/** The part of an RTCDataChannel the relay uses. */
export interface ProxyDataChannel extends EventTarget {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  binaryType: BinaryType;
  send(data: ArrayBuffer | Uint8Array<ArrayBuffer>): void;
  close(): void;
}

/** The part of an RTCPeerConnection the proxy uses (non-trickle answering). */
export interface ProxyPeerConnection extends EventTarget {
  /** "complete" once gathering is done. */
  readonly iceGatheringState: string;
  /** The W3C connection state. */
  readonly connectionState: string;
  /** The answer with its candidates, once set. */
  readonly localDescription: { type: string; sdp: string } | null;
  /** The client's offer. */
  setRemoteDescription(description: { type: "offer"; sdp: string }): Promise<void>;
  /** The implicit form: after an offer, makes and applies the answer. */
  setLocalDescription(): Promise<void>;
  /** Closes the connection and its channels. */
  close(): void;
}

/** Builds a peer connection from an RTCConfiguration (extra pion fields are ignored by browsers). */
export type PeerConnectionFactory = (configuration: RTCConfiguration) => ProxyPeerConnection;

/** What a relay connection reports, each at most once except messages; none after `close()`. */
export interface RelayConnectionHandlers {
  /** The WebSocket is open: `send` may be called. */
  onOpen(): void;
  /** One binary message from the relay, in order. */
  onMessage(bytes: Uint8Array<ArrayBuffer>): void;
  /** The WebSocket ended (the relay closed it, it failed, or it never opened); `detail` for the log. */
  onEnd(detail: string): void;
}

/**
 * The proxy's WebSocket to the relay, with pausable reads: while paused, no
 * message is read, so the relay's TCP sends block once the socket buffers
 * fill (back-pressure to the bridge). Where the runtime cannot pause (a
 * plain WebSocket) `pause` does nothing and the caller's queue bound applies.
 */
export interface RelayConnection {
  /** The WebSocket is open and not yet ended. */
  readonly isOpen: boolean;
  /** Bytes given to `send` and not yet written to the socket. */
  readonly bufferedAmount: number;
  /** Sends one binary message (only while `isOpen`). */
  send(bytes: Uint8Array): void;
  /** Stops reading messages until `resume`. */
  pause(): void;
  /** Reads messages again after `pause`. */
  resume(): void;
  /** Closes with 1000; no handler is called after this. */
  close(): void;
}

/** Dials the relay at `url` (relay_connection.ts, or a test's). */
export type RelayConnectionFactory = (url: string, handlers: RelayConnectionHandlers) => RelayConnection;
