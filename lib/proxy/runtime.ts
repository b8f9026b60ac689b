/**
 * What the proxy core needs from its runtime, as W3C shapes: an
 * RTCPeerConnection, a WebSocket and fetch. In Deno these are lib/webrtc's
 * binding and the runtime's own WebSocket and fetch; in a web page they are
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

/** Opens a WebSocket to `url` (the global constructor, or a test's). */
export type WebSocketFactory = (url: string) => WebSocket;
