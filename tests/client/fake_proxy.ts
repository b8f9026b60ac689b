/**
 * Test double for a snowflake proxy and the rendezvous in front of it, in this
 * process: `exchange(offer)` answers the client's offer from a fresh
 * RTCPeerConnection (loopback candidates), and once the data channel opens,
 * relays it to the bridge's WebSocket both ways, message for message, as a
 * proxy does. Each proxy can be closed (an orderly goodbye: the channel
 * closes) or frozen (it stops relaying in both directions and says nothing,
 * as a SIGKILLed proxy behind a NAT looks to the client).
 */

import { RTCPeerConnection, waitForIceGatheringComplete } from "../../lib/webrtc/mod.ts";
import type { RTCDataChannel } from "../../lib/webrtc/data_channel.ts";
import {
  parseSessionDescription,
  serializeSessionDescription,
} from "../../lib/messages/session_description.ts";

export interface FakeProxy {
  pc: RTCPeerConnection;
  channel: Promise<RTCDataChannel>;
  /** The offer's SDP as the client sent it. */
  offerSdp: string;
  /** Bytes relayed from the client to the bridge, and from the bridge to the client. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** The first message the client sent (token, ClientID, and any padding after it). */
  readonly firstUp: Uint8Array | null;
  /** Stops relaying both ways without closing anything. */
  freeze(): void;
  close(): void;
}

export interface FakeRendezvous {
  /** Every proxy answered so far, the latest last. */
  proxies: FakeProxy[];
  exchange(offerSdpJson: string, signal: AbortSignal): Promise<string>;
  /** When set, the next exchanges reject with this (a broker without proxies). */
  failWith: Error | null;
  /** When set, the proxy answers with this text instead of its answer. */
  answerOverride: string | null;
  /** When set, the next proxy sends these bytes as soon as its channel opens and relays nothing (a bad proxy). */
  garbage: Uint8Array | null;
  close(): void;
}

export function fakeRendezvous(relayUrl: string): FakeRendezvous {
  const proxies: FakeProxy[] = [];
  const rendezvous: FakeRendezvous = {
    proxies,
    failWith: null,
    answerOverride: null,
    garbage: null,
    async exchange(offerSdpJson) {
      if (rendezvous.failWith) throw rendezvous.failWith;
      const offer = parseSessionDescription(offerSdpJson, "offer");
      const pc = new RTCPeerConnection({ includeLoopbackCandidates: true });
      let frozen = false;
      const counts = { up: 0, down: 0, first: null as Uint8Array | null };
      let ws: WebSocket | undefined;
      const garbage = rendezvous.garbage;
      rendezvous.garbage = null;
      const channel = new Promise<RTCDataChannel>((resolve) => {
        pc.ondatachannel = (event) => {
          const dc = event.channel;
          resolve(dc);
          if (garbage) {
            dc.onopen = () => dc.send(garbage);
            if (dc.readyState === "open") dc.send(garbage);
            return;
          }
          const pending: ArrayBuffer[] = [];
          ws = new WebSocket(relayUrl);
          ws.binaryType = "arraybuffer";
          ws.onopen = () => {
            for (const data of pending.splice(0)) ws!.send(data);
          };
          ws.onmessage = (message) => {
            if (frozen || dc.readyState !== "open") return;
            counts.down += (message.data as ArrayBuffer).byteLength;
            dc.send(message.data as ArrayBuffer);
          };
          ws.onclose = () => dc.close();
          dc.onmessage = (message) => {
            if (frozen) return;
            counts.up += (message.data as ArrayBuffer).byteLength;
            counts.first ??= new Uint8Array((message.data as ArrayBuffer).slice(0));
            if (ws!.readyState === WebSocket.OPEN) ws!.send(message.data as ArrayBuffer);
            else pending.push(message.data as ArrayBuffer);
          };
          dc.onclose = () => ws!.close();
        };
      });
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await waitForIceGatheringComplete(pc);
      proxies.push({
        pc,
        channel,
        offerSdp: offer.sdp,
        get bytesUp() {
          return counts.up;
        },
        get bytesDown() {
          return counts.down;
        },
        get firstUp() {
          return counts.first;
        },
        freeze() {
          frozen = true;
        },
        close() {
          pc.close();
          ws?.close();
        },
      });
      if (rendezvous.answerOverride !== null) return rendezvous.answerOverride;
      return serializeSessionDescription({ type: "answer", sdp: pc.localDescription!.sdp });
    },
    close() {
      for (const proxy of proxies) proxy.close();
    },
  };
  return rendezvous;
}
