/**
 * One client, from the broker's offer to teardown (SNOWFLAKE-PROTOCOL.md
 * §6.5–§6.7): answer the offer (non-trickle), post the answer, wait for the
 * client's data channel, dial the relay, and copy both ways until either side
 * ends, the relay is silent for the inactivity timeout, or the proxy stops.
 * Every path ends in {@link ClientSessionResult} with the peer connection and
 * the WebSocket closed; the caller frees the capacity slot.
 *
 * Flow control: each direction sends while the far side's `bufferedAmount`
 * is under its high-water mark (data channel: resumed by `bufferedamountlow`;
 * WebSocket: it has no such event, so re-checked on a short timer) and the
 * shared bandwidth cap allows, and queues otherwise, up to `maxQueuedBytes`;
 * past that the client is closed ("queue overflow"), never buffered without
 * bound. Toward the client, reading the relay pauses while the queue is over
 * `relayPauseBytes` (relay_connection.ts): the bridge's TCP sends then block
 * and it sends the client's packets on its other WebSockets, instead of
 * seconds of queue building up here. A data channel cannot be paused, so
 * toward the relay KCP's window above us keeps the queue short.
 * A WebSocket message larger than the client's `max-message-size` is split
 * into data-channel messages of that size, never dropped.
 */

import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Clock } from "../util/clock.ts";
import type { RTCConfiguration } from "../webrtc/config.ts";
import { waitForIceGatheringComplete } from "../webrtc/gathering.ts";
import { serializeSessionDescription } from "../messages/session_description.ts";
import { ChunkQueue } from "./chunk_queue.ts";
import type { TokenBucket } from "./token_bucket.ts";
import type {
  PeerConnectionFactory,
  ProxyDataChannel,
  RelayConnection,
  RelayConnectionFactory,
} from "./runtime.ts";
import { messageBytes } from "./relay_connection.ts";

/** Why a client's session ended. */
export type ClientCloseReason =
  /** The client closed its data channel, or its peer connection failed. */
  | "client closed"
  /** The relay closed the WebSocket. */
  | "relay closed"
  /** The relay could not be reached or refused the WebSocket upgrade. */
  | "relay dial failed"
  /** The relay URL broke a rule (pattern, scheme, private address): the offer was not answered. */
  | "relay refused"
  /** No data from the relay for the inactivity timeout. */
  | "inactivity"
  /** The client never opened its data channel after the answer. */
  | "data channel timeout"
  /** The broker said the client was gone, or posting the answer failed. */
  | "answer failed"
  /** The offer could not be answered (not valid SDP for WebRTC, gathering failed). */
  | "bad offer"
  /** A direction's queue passed its bound (the far side stopped reading). */
  | "queue overflow"
  /** The proxy is stopping. */
  | "stopped";

export interface ClientSessionResult {
  reason: ClientCloseReason;
  /** Extra detail for the log (an error message), if any. */
  detail?: string;
  /** Whether the client's data channel opened (what Go counts as a connection). */
  connected: boolean;
  /** Bytes the client sent that went to the relay. */
  bytesFromClient: number;
  /** Bytes the relay sent that went to the client. */
  bytesToClient: number;
  /** From the answer being made to teardown, ms. */
  durationMs: number;
}

/** How long a client's session waits at each step. */
export interface SessionTimeouts {
  /** After the answer, for the client's data channel to open (Go `dataChannelTimeout`: 20 s). */
  dataChannelMs: number;
  /** For the relay's WebSocket to open (gorilla's handshake timeout: 45 s). */
  relayDialMs: number;
  /** Without data from the relay (Go 2.5.1 `inactivityTimeout`: 30 s). */
  inactivityMs: number;
}

/** Buffer bounds of one client's relay. */
export interface FlowLimits {
  /** Data-channel `bufferedAmount` at which sending to the client waits. */
  dataChannelHighWaterBytes: number;
  /** ... and at which it resumes (`bufferedAmountLowThreshold`). */
  dataChannelLowWaterBytes: number;
  /** WebSocket `bufferedAmount` at which sending to the relay waits. */
  webSocketHighWaterBytes: number;
  /** How often a waiting send to the relay re-checks the WebSocket, ms. */
  webSocketPollMs: number;
  /** Bytes one direction may queue before the client is closed. */
  maxQueuedBytes: number;
  /** Bytes queued for the client over which reading the relay pauses (resumed at half). */
  relayPauseBytes: number;
  /** Largest message our data channel sends (lib/webrtc: 65,535; the client's max-message-size may be less). */
  maxSendMessageBytes: number;
  /**
   * Most bytes of client messages joined into one WebSocket message. The
   * bridge reads its WebSocket as a byte stream (Go's and ours), so messages
   * that arrive together go as one: one send and one frame instead of one per
   * KCP packet.
   */
  relayJoinBytes: number;
}

/** Live byte counters a session adds to as it relays (the proxy's totals). */
export interface ByteCounters {
  fromClients: number;
  toClients: number;
}

export interface ClientSessionDeps {
  createPeerConnection: PeerConnectionFactory;
  openRelay: RelayConnectionFactory;
  rtcConfig: RTCConfiguration;
  clock: Clock;
  timeouts: SessionTimeouts;
  flow: FlowLimits;
  /** Shared by all clients; absent = no cap. */
  bucket?: TokenBucket;
  counters: ByteCounters;
  logger: Logger;
  /** Aborts when the proxy stops. */
  signal: AbortSignal;
  /** Called once the data channel is open (for events). */
  onConnected?: () => void;
}

export interface ClientOffer {
  /** The offer SDP, already checked by parseSessionDescription. */
  sdp: string;
  /** Largest data-channel message the client accepts (from the offer). */
  maxMessageSize: number;
}

/** A step that ends the session early with a reason. */
class SessionEnd extends Error {
  constructor(readonly reason: ClientCloseReason, detail?: string) {
    super(detail ?? reason);
  }
}

/**
 * Runs one client's session to its end. `postAnswer` posts the serialized
 * answer and resolves true if the broker handed it to the client. `relayUrl`
 * is the checked URL to dial, `client_ip` included.
 */
export async function runClientSession(
  offer: ClientOffer,
  postAnswer: (answer: string, signal: AbortSignal) => Promise<boolean>,
  relayUrl: string,
  deps: ClientSessionDeps,
): Promise<ClientSessionResult> {
  const started = deps.clock.now();
  const local = new AbortController();
  const signal = AbortSignal.any([deps.signal, local.signal]);
  let pc: ReturnType<PeerConnectionFactory> | undefined;
  let relay: Relay | undefined;
  const result = (reason: ClientCloseReason, detail?: string): ClientSessionResult => ({
    reason,
    detail,
    connected: relay !== undefined,
    bytesFromClient: relay?.bytesFromClient ?? 0,
    bytesToClient: relay?.bytesToClient ?? 0,
    durationMs: deps.clock.now() - started,
  });
  try {
    try {
      pc = deps.createPeerConnection(deps.rtcConfig);
    } catch (error) {
      return result("bad offer", `peer connection: ${errorMessage(error)}`);
    }
    const channelPromise = waitForDataChannel(pc, signal);
    channelPromise.catch(() => {}); // awaited below, or abandoned on an earlier end
    const answer = await makeAnswer(pc, offer.sdp, signal);
    let accepted: boolean;
    try {
      accepted = await postAnswer(answer, signal);
    } catch (error) {
      throw new SessionEnd("answer failed", errorMessage(error));
    }
    if (!accepted) throw new SessionEnd("answer failed", "broker returned client gone");
    const channel = await withTimeout(
      channelPromise,
      deps.timeouts.dataChannelMs,
      signal,
      "data channel timeout",
    );
    relay = new Relay(channel, pc, offer.maxMessageSize, deps);
    deps.onConnected?.();
    const end = await relay.run(relayUrl, signal);
    return result(end.reason, end.detail);
  } catch (error) {
    if (error instanceof SessionEnd) {
      return result(error.reason, error.message === error.reason ? undefined : error.message);
    }
    if (signal.aborted) return result("stopped");
    return result("bad offer", errorMessage(error));
  } finally {
    local.abort();
    relay?.close();
    pc?.close();
  }
}

/** setRemoteDescription → answer → gathered local description, serialized for the broker. */
async function makeAnswer(
  pc: ReturnType<PeerConnectionFactory>,
  sdp: string,
  signal: AbortSignal,
): Promise<string> {
  try {
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription();
    await waitForIceGatheringComplete(pc, signal);
  } catch (error) {
    if (signal.aborted) throw new SessionEnd("stopped");
    throw new SessionEnd("bad offer", errorMessage(error));
  }
  const description = pc.localDescription;
  if (!description) throw new SessionEnd("bad offer", "no local description after gathering");
  return serializeSessionDescription({ type: "answer", sdp: description.sdp });
}

/** The client's data channel, once open. */
function waitForDataChannel(pc: EventTarget, signal: AbortSignal): Promise<ProxyDataChannel> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new SessionEnd("stopped"));
    signal.addEventListener("abort", onAbort, { once: true });
    pc.addEventListener("datachannel", (event) => {
      const channel = (event as Event & { channel: ProxyDataChannel }).channel;
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(channel);
      };
      if (channel.readyState === "open") done();
      else channel.addEventListener("open", done, { once: true });
    }, { once: true });
  });
}

/** `promise`, or a SessionEnd(`reason`) after `ms`, or "stopped" on abort. */
function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  signal: AbortSignal,
  reason: ClientCloseReason,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionEnd(reason)), ms);
  });
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new SessionEnd("stopped"));
    signal.addEventListener("abort", () => reject(new SessionEnd("stopped")), { once: true });
  });
  return Promise.race([promise, timeout, aborted]).finally(() => clearTimeout(timer));
}

/** The copy loop between an open data channel and the relay's connection, with one timer. */
class Relay {
  bytesFromClient = 0;
  bytesToClient = 0;
  readonly #channel: ProxyDataChannel;
  readonly #pc: EventTarget & { connectionState: string };
  readonly #maxMessage: number;
  readonly #deps: ClientSessionDeps;
  readonly #toRelay = new ChunkQueue();
  #relayFlushQueued = false;
  readonly #toClient = new ChunkQueue();
  #ws: RelayConnection | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #lastRelayData: number;
  #dialDeadline = Infinity;
  #ended: { reason: ClientCloseReason; detail?: string } | undefined;
  #finish: (end: { reason: ClientCloseReason; detail?: string }) => void = () => {};
  readonly #listeners: [EventTarget, string, EventListener][] = [];

  constructor(
    channel: ProxyDataChannel,
    pc: EventTarget & { connectionState: string },
    maxMessageSize: number,
    deps: ClientSessionDeps,
  ) {
    this.#channel = channel;
    this.#pc = pc;
    this.#maxMessage = Math.min(maxMessageSize, deps.flow.maxSendMessageBytes);
    this.#deps = deps;
    this.#lastRelayData = deps.clock.now();
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = deps.flow.dataChannelLowWaterBytes;
    // Listen from the start: messages may arrive before the relay is open.
    this.#listen(channel, "message", (event) => this.#fromClient(messageBytes((event as MessageEvent).data)));
    this.#listen(channel, "close", () => this.#end("client closed"));
    this.#listen(channel, "bufferedamountlow", () => this.#flush());
    this.#listen(pc, "connectionstatechange", () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        this.#end("client closed", `peer connection ${pc.connectionState}`);
      }
    });
  }

  /** Dials the relay and relays until an end; resolves with why. */
  run(url: string, signal: AbortSignal): Promise<{ reason: ClientCloseReason; detail?: string }> {
    const ended = new Promise<{ reason: ClientCloseReason; detail?: string }>((resolve) =>
      this.#finish = resolve
    );
    if (this.#ended) return Promise.resolve(this.#ended);
    if (signal.aborted) this.#end("stopped");
    this.#listen(signal, "abort", () => this.#end("stopped"));
    this.#dialDeadline = this.#deps.clock.now() + this.#deps.timeouts.relayDialMs;
    try {
      this.#ws = this.#deps.openRelay(url, {
        onOpen: () => {
          this.#dialDeadline = Infinity;
          this.#lastRelayData = this.#deps.clock.now();
          this.#flush();
        },
        onMessage: (bytes) => this.#fromRelay(bytes),
        onEnd: (detail) =>
          this.#end(this.#dialDeadline === Infinity ? "relay closed" : "relay dial failed", detail),
      });
    } catch (error) {
      this.#end("relay dial failed", errorMessage(error));
      return ended;
    }
    this.#arm();
    return ended;
  }

  close(): void {
    this.#end("stopped");
  }

  #listen(target: EventTarget, type: string, listener: EventListener): void {
    target.addEventListener(type, listener);
    this.#listeners.push([target, type, listener]);
  }

  #fromClient(bytes: Uint8Array<ArrayBuffer>): void {
    if (this.#ended || bytes.length === 0) return;
    this.#toRelay.push(bytes);
    if (this.#toRelay.bytes > this.#deps.flow.maxQueuedBytes) {
      this.#end("queue overflow", `${this.#toRelay.bytes} bytes queued for the relay`);
      return;
    }
    // After the messages delivered with this one (a batch from the data channel), so that they go as one.
    if (this.#relayFlushQueued) return;
    this.#relayFlushQueued = true;
    queueMicrotask(() => {
      this.#relayFlushQueued = false;
      if (!this.#ended) this.#flushToRelay();
    });
  }

  #fromRelay(bytes: Uint8Array<ArrayBuffer>): void {
    if (this.#ended || bytes.length === 0) return;
    this.#lastRelayData = this.#deps.clock.now();
    const max = this.#maxMessage;
    if (bytes.length <= max) {
      this.#toClient.push(bytes);
    } else {
      for (let offset = 0; offset < bytes.length; offset += max) {
        this.#toClient.push(bytes.subarray(offset, Math.min(bytes.length, offset + max)));
      }
    }
    if (this.#toClient.bytes > this.#deps.flow.maxQueuedBytes) {
      this.#end("queue overflow", `${this.#toClient.bytes} bytes queued for the client`);
      return;
    }
    this.#flushToClient();
    this.#steerRelayReads();
  }

  #flush(): void {
    if (this.#ended) return;
    this.#flushToRelay();
    this.#flushToClient();
    this.#steerRelayReads();
    this.#arm();
  }

  /** Pauses reading the relay over `relayPauseBytes` queued for the client, resumes at half (after every flush). */
  #steerRelayReads(): void {
    const queued = this.#toClient.bytes;
    if (queued > this.#deps.flow.relayPauseBytes) this.#ws?.pause();
    else if (queued <= this.#deps.flow.relayPauseBytes / 2) this.#ws?.resume();
  }

  /** Sends queued client bytes while the WebSocket and the cap allow; returns a wait in ms, or 0. */
  #flushToRelay(): number {
    const ws = this.#ws;
    if (!ws || !ws.isOpen) return 0;
    const queue = this.#toRelay;
    while (!queue.isEmpty) {
      if (ws.bufferedAmount >= this.#deps.flow.webSocketHighWaterBytes) {
        return this.#waitFor(this.#deps.flow.webSocketPollMs);
      }
      const bytes = queue.headBytes(this.#deps.flow.relayJoinBytes);
      const wait = this.#deps.bucket?.take(this.#deps.clock.now(), bytes) ?? 0;
      if (wait > 0) return this.#waitFor(wait);
      ws.send(queue.takeJoined(bytes));
      this.bytesFromClient += bytes;
      this.#deps.counters.fromClients += bytes;
    }
    return 0;
  }

  /** Sends queued relay bytes while the data channel and the cap allow. */
  #flushToClient(): number {
    const channel = this.#channel;
    if (channel.readyState !== "open") return 0;
    const queue = this.#toClient;
    while (!queue.isEmpty) {
      // Resumed by "bufferedamountlow".
      if (channel.bufferedAmount >= this.#deps.flow.dataChannelHighWaterBytes) return 0;
      const chunk = queue.peek()!;
      const wait = this.#deps.bucket?.take(this.#deps.clock.now(), chunk.length) ?? 0;
      if (wait > 0) return this.#waitFor(wait);
      queue.shift();
      try {
        channel.send(chunk as Uint8Array<ArrayBuffer>);
      } catch (error) {
        this.#end("client closed", `data channel send: ${errorMessage(error)}`);
        return 0;
      }
      this.bytesToClient += chunk.length;
      this.#deps.counters.toClients += chunk.length;
    }
    return 0;
  }

  #waitFor(ms: number): number {
    this.#arm(this.#deps.clock.now() + ms);
    return ms;
  }

  /** Arms the one timer for the earliest of: a wake-up asked for, the dial deadline, the inactivity deadline. */
  #arm(wakeAt = Infinity): void {
    if (this.#ended) return;
    const inactivityAt = this.#dialDeadline === Infinity && this.#ws
      ? this.#lastRelayData + this.#deps.timeouts.inactivityMs
      : Infinity;
    const at = Math.min(wakeAt, this.#dialDeadline, inactivityAt, this.#timer ? this.#timerAt : Infinity);
    if (at === Infinity || (this.#timer && at >= this.#timerAt)) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, at - this.#deps.clock.now()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#deps.clock.now();
    if (now >= this.#dialDeadline) return this.#end("relay dial failed", "WebSocket handshake timed out");
    if (this.#dialDeadline === Infinity && now >= this.#lastRelayData + this.#deps.timeouts.inactivityMs) {
      return this.#end("inactivity");
    }
    this.#flush();
  }

  #end(reason: ClientCloseReason, detail?: string): void {
    if (this.#ended) return;
    this.#ended = { reason, detail };
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [target, type, listener] of this.#listeners) target.removeEventListener(type, listener);
    this.#toRelay.clear();
    this.#toClient.clear();
    this.#ws?.close();
    try {
      this.#channel.close();
    } catch { /* already closed */ }
    this.#finish(this.#ended);
  }
}
