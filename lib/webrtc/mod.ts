/**
 * WebRTC data channels for Deno: a W3C-shaped RTCPeerConnection and
 * RTCDataChannel over a bundled Go/pion shim (see lib/README.md and README.md
 * for building and loading the native library).
 */

export { encodePeerConfig, type RTCConfiguration, type RTCIceServer } from "./config.ts";
export {
  MAX_MESSAGE_SIZE,
  RTCDataChannel,
  type RTCDataChannelInit,
  type RTCDataChannelState,
} from "./data_channel.ts";
export {
  type EventHandler,
  RTCDataChannelEvent,
  RTCErrorEvent,
  RTCPeerConnectionIceEvent,
} from "./event_handlers.ts";
export { WebRTCError, WebRTCLibraryError } from "./errors.ts";
export { type GatheringPeer, waitForIceGatheringComplete } from "./gathering.ts";
export { LIBRARY_ENV, loadNativeLibrary } from "./loader.ts";
export { type NativeStats, nativeStats } from "./stats.ts";
export {
  type RTCIceConnectionState,
  type RTCIceGatheringState,
  RTCPeerConnection,
  type RTCPeerConnectionState,
  type RTCSignalingState,
} from "./peer_connection.ts";
export {
  type RTCSdpType,
  RTCSessionDescription,
  type RTCSessionDescriptionInit,
} from "./session_description.ts";
