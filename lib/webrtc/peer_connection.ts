/**
 * RTCPeerConnection over the native shim: the W3C subset Snowflake's client
 * and proxy use, so their code runs unchanged on a browser.
 *
 * Signalling is non-trickle, as in Snowflake: setLocalDescription starts ICE
 * gathering; when iceGatheringState becomes "complete" (the
 * "icegatheringstatechange" event, and "icecandidate" with a null candidate),
 * localDescription holds every candidate and is what gets sent. See
 * {@link waitForIceGatheringComplete}.
 *
 * The native peer connection and its data channels are released by close(),
 * and on process exit for any still open. Like a socket, an open connection
 * keeps the process alive (its events are being pumped); once every one is
 * closed the binding holds nothing that does.
 */

import { encodePeerConfig, type RTCConfiguration } from "./config.ts";
import { type ChannelDescription, RTCDataChannel, type RTCDataChannelInit } from "./data_channel.ts";
import {
  defineEventHandlers,
  type EventHandler,
  RTCDataChannelEvent,
  RTCPeerConnectionIceEvent,
} from "./event_handlers.ts";
import { EventKind, type NativeEvent } from "./events.ts";
import { invalidState } from "./errors.ts";
import { Native } from "./native.ts";
import { EventPump } from "./pump.ts";
import { RTCSessionDescription, type RTCSessionDescriptionInit } from "./session_description.ts";
import type { Logger } from "../util/log.ts";

/** The W3C `RTCPeerConnectionState`. */
export type RTCPeerConnectionState =
  | "new"
  | "connecting"
  | "connected"
  | "disconnected"
  | "failed"
  | "closed";
/** The W3C `RTCIceConnectionState`. */
export type RTCIceConnectionState =
  | "new"
  | "checking"
  | "connected"
  | "completed"
  | "disconnected"
  | "failed"
  | "closed";
/** The W3C `RTCIceGatheringState`. */
export type RTCIceGatheringState = "new" | "gathering" | "complete";
/** The W3C `RTCSignalingState`. */
export type RTCSignalingState =
  | "stable"
  | "have-local-offer"
  | "have-remote-offer"
  | "have-local-pranswer"
  | "have-remote-pranswer"
  | "closed";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A W3C-shaped RTCPeerConnection over our pion shim (lib/webrtc/native/), for data channels only; signalling is non-trickle (wait with {@link waitForIceGatheringComplete}).
 *
 * ```ts
 * import { waitForIceGatheringComplete } from "./gathering.ts";
 *
 * const pc = new RTCPeerConnection({ iceServers: [] }); // add STUN servers for real peers
 * const channel = pc.createDataChannel("snowflake");
 * await pc.setLocalDescription(await pc.createOffer());
 * await waitForIceGatheringComplete(pc);
 * console.log(JSON.stringify(pc.localDescription), channel.readyState);
pc.close();
 * ```
 */
export class RTCPeerConnection extends EventTarget {
  readonly #native: Native;
  readonly #pump: EventPump;
  readonly #handle: number;
  readonly #logger: Logger | undefined;
  readonly #channels = new Set<RTCDataChannel>();
  #closed = false;
  #connectionState: RTCPeerConnectionState = "new";
  #iceConnectionState: RTCIceConnectionState = "new";
  #iceGatheringState: RTCIceGatheringState = "new";

  /** The remote side opened a channel. */
  declare ondatachannel: EventHandler<RTCDataChannelEvent>;
  /** `connectionState` changed. */
  declare onconnectionstatechange: EventHandler;
  /** `iceConnectionState` changed. */
  declare oniceconnectionstatechange: EventHandler;
  /** `iceGatheringState` changed. */
  declare onicegatheringstatechange: EventHandler;
  /** `signalingState` changed. */
  declare onsignalingstatechange: EventHandler;
  /** Gathering completed (fires once, with `candidate: null`). */
  declare onicecandidate: EventHandler<RTCPeerConnectionIceEvent>;

  /** Throws TypeError for a bad configuration, WebRTCLibraryError when the native library is missing. */
  constructor(configuration: RTCConfiguration = {}) {
    super();
    const config = this.#encode(encodePeerConfig(configuration));
    this.#native = Native.get();
    this.#pump = EventPump.get(this.#native);
    this.#logger = configuration.logger;
    const { symbols, context, out } = this.#native;
    this.#handle = this.#native.check(symbols.swrtc_pc_new(context, config, config.length, out, out.length));
    this.#pump.register(this.#handle, this);
    this.#pump.peerOpened();
  }

  /** The W3C connection state ("new" … "connected", "failed", "closed"). */
  get connectionState(): RTCPeerConnectionState {
    return this.#connectionState;
  }
  /** The W3C ICE connection state. */
  get iceConnectionState(): RTCIceConnectionState {
    return this.#iceConnectionState;
  }
  /** "new", "gathering" or "complete". */
  get iceGatheringState(): RTCIceGatheringState {
    return this.#iceGatheringState;
  }
  /** The W3C signalling state, as pion reports it. */
  get signalingState(): RTCSignalingState {
    if (this.#closed) return "closed";
    const { symbols, out } = this.#native;
    return this.#native.text(
      symbols.swrtc_pc_signaling_state(this.#handle, out, out.length),
    ) as RTCSignalingState;
  }

  /** The local description with the candidates gathered so far (local addresses stripped if so configured). */
  get localDescription(): RTCSessionDescription | null {
    return this.#description(0);
  }
  /** The remote description set, if any. */
  get remoteDescription(): RTCSessionDescription | null {
    return this.#description(1);
  }

  /** An offer for the channels created so far (set it with setLocalDescription). */
  createOffer(): Promise<RTCSessionDescriptionInit> {
    return this.#call("createOffer", () => {
      const { symbols, out } = this.#native;
      return JSON.parse(this.#native.text(symbols.swrtc_pc_create_offer(this.#handle, out, out.length)));
    });
  }

  /** An answer to the remote offer (set it with setLocalDescription). */
  createAnswer(): Promise<RTCSessionDescriptionInit> {
    return this.#call("createAnswer", () => {
      const { symbols, out } = this.#native;
      return JSON.parse(this.#native.text(symbols.swrtc_pc_create_answer(this.#handle, out, out.length)));
    });
  }

  /** Without an SDP, creates the offer or answer the signalling state calls for (W3C implicit form). */
  async setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void> {
    let init = description;
    if (!init?.sdp && init?.type !== "rollback") {
      const answering = init?.type === "answer" || init?.type === "pranswer" ||
        (init === undefined && this.signalingState.startsWith("have-remote"));
      init = answering ? await this.createAnswer() : await this.createOffer();
    }
    const desc = new RTCSessionDescription(init);
    await this.#call("setLocalDescription", () => this.#setDescription(0, desc));
  }

  /** Rejects with pion's message for an SDP it cannot use. */
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    return this.#call(
      "setRemoteDescription",
      () => this.#setDescription(1, new RTCSessionDescription(description)),
    );
  }

  /**
   * A new data channel, "connecting" until the connection is up. Snowflake's
   * client uses the defaults (ordered, reliable); `{ ordered: false,
   * maxRetransmits: 0 }` gives unordered fire-and-forget delivery.
   */
  createDataChannel(label: string, init: RTCDataChannelInit = {}): RTCDataChannel {
    if (this.#closed) throw invalidState("RTCPeerConnection.createDataChannel: the connection is closed");
    const description = channelDescription(String(label), init);
    const options = this.#encode(JSON.stringify(description));
    const { symbols, out } = this.#native;
    const handle = this.#native.check(
      symbols.swrtc_pc_create_data_channel(this.#handle, options, options.length, out, out.length),
    );
    return this.#adopt(handle, description, "connecting");
  }

  /** Closes the connection and its channels at once, without events (W3C). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connectionState = "closed";
    this.#iceConnectionState = "closed";
    for (const channel of this.#channels) channel.peerClosed();
    this.#channels.clear();
    this.#pump.unregister(this.#handle);
    this.#pump.peerClosed();
    const { symbols, out } = this.#native;
    const result = symbols.swrtc_pc_close(this.#handle, out, out.length);
    if (result < 0) {
      // pion reports errors of closing its transports; the connection is closed regardless.
      this.#logger?.debug(`webrtc: closing peer connection: ${decoder.decode(out.subarray(0, -result))}`);
    }
  }

  /**
   * Called by the event pump with this peer's native events.
   * @ignore
   */
  handleNativeEvent(event: NativeEvent): void {
    const text = () => decoder.decode(event.payload);
    switch (event.kind) {
      case EventKind.PeerConnectionState:
        this.#connectionState = text() as RTCPeerConnectionState;
        this.dispatchEvent(new Event("connectionstatechange"));
        return;
      case EventKind.PeerIceConnectionState:
        this.#iceConnectionState = text() as RTCIceConnectionState;
        this.dispatchEvent(new Event("iceconnectionstatechange"));
        return;
      case EventKind.PeerIceGatheringState:
        this.#iceGatheringState = text() as RTCIceGatheringState;
        this.dispatchEvent(new Event("icegatheringstatechange"));
        if (this.#iceGatheringState === "complete") {
          this.dispatchEvent(new RTCPeerConnectionIceEvent("icecandidate"));
        }
        return;
      case EventKind.PeerSignalingState:
        this.dispatchEvent(new Event("signalingstatechange"));
        return;
      case EventKind.PeerDataChannel: {
        const handle = new DataView(event.payload.buffer, event.payload.byteOffset, 4).getUint32(0, true);
        const description = JSON.parse(decoder.decode(event.payload.subarray(4))) as ChannelDescription;
        const channel = this.#adopt(handle, description, "open");
        this.dispatchEvent(new RTCDataChannelEvent("datachannel", { channel }));
        return;
      }
      case EventKind.PeerLog: {
        const line = `webrtc: ${decoder.decode(event.payload.subarray(1))}`;
        if (event.payload[0] >= 3) this.#logger?.error(line);
        else this.#logger?.warn(line);
        return;
      }
    }
  }

  #adopt(handle: number, description: ChannelDescription, state: "connecting" | "open"): RTCDataChannel {
    const channel = new RTCDataChannel(this.#native, this.#pump, handle, description, state);
    this.#channels.add(channel);
    channel.addEventListener("close", () => this.#channels.delete(channel));
    return channel;
  }

  #description(remote: 0 | 1): RTCSessionDescription | null {
    if (this.#closed) return null;
    const { symbols, out } = this.#native;
    const json = this.#native.text(symbols.swrtc_pc_get_description(this.#handle, remote, out, out.length));
    return json === "" ? null : new RTCSessionDescription(JSON.parse(json));
  }

  #setDescription(remote: 0 | 1, description: RTCSessionDescription): void {
    const json = this.#encode(JSON.stringify(description));
    const { symbols, out } = this.#native;
    this.#native.check(
      symbols.swrtc_pc_set_description(this.#handle, remote, json, json.length, out, out.length),
    );
  }

  /** Runs a synchronous native call as the W3C promise-returning method `name`. */
  async #call<T>(name: string, call: () => T): Promise<T> {
    if (this.#closed) throw invalidState(`RTCPeerConnection.${name}: the connection is closed`);
    return await call();
  }

  #encode(text: string): Uint8Array<ArrayBuffer> {
    return encoder.encode(text);
  }
}

defineEventHandlers(RTCPeerConnection.prototype, [
  "datachannel",
  "connectionstatechange",
  "iceconnectionstatechange",
  "icegatheringstatechange",
  "signalingstatechange",
  "icecandidate",
]);

/** Validates createDataChannel's options as the W3C API does (TypeError) and fills in defaults. */
function channelDescription(label: string, init: RTCDataChannelInit): ChannelDescription {
  const unsignedShort = (name: string, value: number | undefined, max = 65535): number | null => {
    if (value === undefined || value === null) return null;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new TypeError(`RTCPeerConnection.createDataChannel: ${name} ${value} is not in 0..${max}`);
    }
    return value;
  };
  const maxPacketLifeTime = unsignedShort("maxPacketLifeTime", init.maxPacketLifeTime);
  const maxRetransmits = unsignedShort("maxRetransmits", init.maxRetransmits);
  const id = unsignedShort("id", init.id, 65534);
  if (maxPacketLifeTime !== null && maxRetransmits !== null) {
    throw new TypeError(
      "RTCPeerConnection.createDataChannel: maxPacketLifeTime and maxRetransmits are exclusive",
    );
  }
  if (init.negotiated && id === null) {
    throw new TypeError("RTCPeerConnection.createDataChannel: a negotiated channel needs an id");
  }
  if (encoder.encode(label).length > 65535) {
    throw new TypeError("RTCPeerConnection.createDataChannel: label longer than 65535 bytes");
  }
  return {
    label,
    ordered: init.ordered ?? true,
    maxPacketLifeTime,
    maxRetransmits,
    protocol: init.protocol ?? "",
    negotiated: init.negotiated ?? false,
    id,
  };
}
