/**
 * One WebRTC connection to a snowflake proxy (SNOWFLAKE-PROTOCOL.md §6.5–§6.6):
 * a peer connection with one ordered data channel named `snowflake-<16 hex>`,
 * a non-trickle offer (gathering complete, bounded by a timeout), the answer
 * from `exchange` (the rendezvous), then the channel's "open" within
 * {@link DATA_CHANNEL_TIMEOUT_MS}, as Go's `WebRTCPeer.connect`.
 *
 * The offer names `a=max-message-size:65535` (what our pion shim receives):
 * Go's names none, and a browser proxy then refuses messages over 64 KiB.
 *
 * Once open, the proxy is watched: the channel closing, or ICE reporting
 * "disconnected"/"failed" (or the peer connection closing), ends
 * {@link ProxyPeer.conn} with that reason at once, so the session moves on in
 * well under a second instead of waiting for silence.
 */

import { errorMessage } from "../util/errors.ts";
import { parseSessionDescription, serializeSessionDescription } from "../messages/session_description.ts";
import { toHex } from "../util/bytes.ts";
import type { Logger } from "../util/log.ts";
import { waitForIceGatheringComplete } from "../webrtc/gathering.ts";
import { RTCPeerConnection } from "../webrtc/peer_connection.ts";
import { DataChannelConn } from "./data_channel_conn.ts";
import type { ProxyLostReason } from "./events.ts";

/** How long the data channel may take to open after the answer is set, ms (Go's DataChannelTimeout). */
export const DATA_CHANNEL_TIMEOUT_MS = 10_000;
/** Longest ICE gathering before the offer goes out with what was found, ms (pion gives up on STUN after 5 s). */
export const ICE_GATHERING_TIMEOUT_MS = 10_000;
/** What our offer declares the largest message we accept to be (the shim's receive limit). */
export const OFFER_MAX_MESSAGE_SIZE = 65535;

/** Sends an offer (SDP JSON) to the broker and resolves with the proxy's answer (SDP JSON). */
export type ExchangeOffer = (offerSdpJson: string, signal: AbortSignal) => Promise<string>;

export interface ProxyPeerOptions {
  /** STUN/TURN URLs for ICE (`ice=`), e.g. `stun:stun.l.google.com:19302`. */
  iceServers: string[];
  /** Keep private and loopback host candidates in the offer (`-keep-local-addresses`). Default false. */
  keepLocalAddresses?: boolean;
  /** Gather 127.0.0.1 candidates too (both peers on one host; tests). Default false. */
  includeLoopbackCandidates?: boolean;
  gatheringTimeoutMs?: number;
  openTimeoutMs?: number;
  logger?: Logger;
}

/** Raised when a proxy could not be reached: the answer was bad, or the channel did not open in time. */
export class ProxyPeerError extends Error {
  override name = "ProxyPeerError";
  constructor(
    readonly kind: "bad-answer" | "open-timeout" | "closed",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A proxy whose data channel is open. */
export class ProxyPeer {
  readonly id: string;
  readonly conn: DataChannelConn;
  readonly #pc: RTCPeerConnection;

  constructor(id: string, pc: RTCPeerConnection, conn: DataChannelConn) {
    this.id = id;
    this.#pc = pc;
    this.conn = conn;
    const watch = () => {
      const ice = pc.iceConnectionState;
      if (ice === "disconnected") this.close("ice-disconnected");
      else if (ice === "failed" || ice === "closed") this.close("ice-failed");
      else if (pc.connectionState === "failed" || pc.connectionState === "closed") this.close("ice-failed");
    };
    pc.addEventListener("iceconnectionstatechange", watch);
    pc.addEventListener("connectionstatechange", watch);
    conn.closed.then(() => this.#pc.close());
    watch();
  }

  /** Why the proxy is gone; null while its channel is open. */
  get lostReason(): ProxyLostReason | null {
    return this.conn.closeReason;
  }

  get isClosed(): boolean {
    return this.conn.closeReason !== null;
  }

  /** Ends the channel with `reason` (the first reason given wins) and closes the peer connection. */
  close(reason: ProxyLostReason = "closed"): void {
    this.conn.closeWithReason(reason);
    this.#pc.close();
  }
}

/** Offers, exchanges, and waits for the data channel; rejects (and releases everything) on any failure or abort. */
export async function connectProxyPeer(
  exchange: ExchangeOffer,
  options: ProxyPeerOptions,
  signal: AbortSignal,
): Promise<ProxyPeer> {
  const id = `snowflake-${toHex(crypto.getRandomValues(new Uint8Array(8)))}`;
  const pc = new RTCPeerConnection({
    iceServers: options.iceServers.map((url) => ({ urls: url })),
    stripLocalAddresses: !(options.keepLocalAddresses ?? false),
    includeLoopbackCandidates: options.includeLoopbackCandidates ?? false,
    iceGatheringTimeoutMs: options.gatheringTimeoutMs ?? ICE_GATHERING_TIMEOUT_MS,
    logger: options.logger,
  });
  const onAbort = () => pc.close();
  signal.addEventListener("abort", onAbort);
  try {
    const channel = pc.createDataChannel(id, { ordered: true });
    const opened = new Promise<void>((resolve, reject) => {
      channel.addEventListener("open", () => resolve(), { once: true });
      channel.addEventListener(
        "close",
        () => reject(new ProxyPeerError("closed", "data channel closed before it opened")),
        { once: true },
      );
    });
    opened.catch(() => {}); // awaited below; a close before the answer must not be unhandled
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGatheringComplete(pc, signal);
    const local = pc.localDescription!;
    const offer = serializeSessionDescription({ type: "offer", sdp: withMaxMessageSize(local.sdp) });
    const answerJson = await exchange(offer, signal);
    signal.throwIfAborted();
    let answer;
    try {
      answer = parseSessionDescription(answerJson, "answer");
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      throw new ProxyPeerError("bad-answer", `bad SDP answer: ${errorMessage(error)}`, { cause: error });
    }
    const timeoutMs = options.openTimeoutMs ?? DATA_CHANNEL_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        opened,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new ProxyPeerError("open-timeout", `data channel did not open in ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
        new Promise<never>((_, reject) => {
          if (signal.aborted) reject(signal.reason);
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return new ProxyPeer(id, pc, new DataChannelConn(channel));
  } catch (error) {
    pc.close();
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** `sdp` with `a=max-message-size` after its `a=sctp-port` line, unless it names one already. */
export function withMaxMessageSize(sdp: string, size = OFFER_MAX_MESSAGE_SIZE): string {
  if (/^a=max-message-size:/m.test(sdp)) return sdp;
  return sdp.replace(/^(a=sctp-port:\d+)\r?\n/m, (line, _port) => `${line}a=max-message-size:${size}\r\n`);
}
