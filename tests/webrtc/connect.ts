/**
 * Test helper: two RTCPeerConnections in this process connected through
 * loopback candidates with non-trickle signalling, as Snowflake signals
 * (offer and answer each sent once, after gathering completes).
 */

import {
  type RTCConfiguration,
  type RTCDataChannel,
  type RTCDataChannelInit,
  RTCPeerConnection,
  waitForIceGatheringComplete,
} from "../../lib/webrtc/mod.ts";
import { opened } from "./transfer.ts";
import { within } from "./within.ts";

/**
 * Waits (up to 20 s) for `pc` to report "connected". pion reports the state change from a goroutine of its own,
 * so under load it can reach us after the data channel's "open".
 */
function connected(pc: RTCPeerConnection): Promise<void> {
  const reached = new Promise<void>((resolve) => {
    const check = () => {
      if (pc.connectionState !== "connected") return;
      pc.removeEventListener("connectionstatechange", check);
      resolve();
    };
    pc.addEventListener("connectionstatechange", check);
    check();
  });
  return within(reached, 20_000, () => `connectionState is still ${pc.connectionState}`);
}

export interface ConnectedPair {
  offerer: RTCPeerConnection;
  answerer: RTCPeerConnection;
  /** The offerer's channel and the answerer's end of it, both open. */
  local: RTCDataChannel;
  remote: RTCDataChannel;
  close(): void;
}

export async function connectPair(
  init: RTCDataChannelInit = {},
  config: RTCConfiguration = { includeLoopbackCandidates: true },
): Promise<ConnectedPair> {
  const offerer = new RTCPeerConnection(config);
  const answerer = new RTCPeerConnection(config);
  const close = () => {
    offerer.close();
    answerer.close();
  };
  try {
    const local = offerer.createDataChannel("test", init);
    const announced = new Promise<RTCDataChannel>((resolve) => {
      answerer.ondatachannel = (event) => resolve(event.channel);
    });
    await offerer.setLocalDescription(await offerer.createOffer());
    await waitForIceGatheringComplete(offerer);
    await answerer.setRemoteDescription(offerer.localDescription!);
    await answerer.setLocalDescription(await answerer.createAnswer());
    await waitForIceGatheringComplete(answerer);
    await offerer.setRemoteDescription(answerer.localDescription!);
    const remote = await announced;
    await Promise.all([opened(local), opened(remote), connected(offerer), connected(answerer)]);
    return { offerer, answerer, local, remote, close };
  } catch (error) {
    close();
    throw error;
  }
}
