/**
 * A carrier: one proxy's data channel as a {@link PacketConn} for the
 * session's KCP (SNOWFLAKE-PROTOCOL.md §3.3, §3.7). It first sends the Turbo
 * Tunnel token and the session's ClientID (one 16-byte message), then the
 * packets as encapsulated data chunks; the packets queued at once (a KCP
 * burst) share a message of at most 16 KiB, what a browser proxy forwards as
 * one WebSocket message (Go sends one message per packet).
 *
 * It ends, and `readFrom` returns null so that the redial moves on, when the
 * proxy does ({@link ProxyPeer}: channel closed, ICE disconnected or failed),
 * when the proxy sends malformed bytes, or when {@link CarrierLiveness} rules
 * it dead ("silent" while we send, or "idle"). `reason` then says which.
 *
 * For the session's multiplexer (MultiplexingPacketConn's carrier extensions):
 * `bufferedAmount` (bytes queued in the data channel) weighs carriers against
 * each other, `writePadding` sends padding chunks every receiver skips
 * (SNOWFLAKE-PROTOCOL.md §2.3; not counted as a send by the liveness rule,
 * since nothing answers it), `drop` ends the carrier with the multiplexer's
 * reason ("undelivered" for its loss rule), and `siblingReceived` tells the
 * liveness rule that another carrier of the session heard from the bridge.
 * With `preamblePadding`, a padding chunk of that many bytes follows the
 * ClientID in the first message.
 */

import { encodePadding } from "../encapsulation/codec.ts";
import { EncapsulationError } from "../encapsulation/error.ts";
import { type EncapsulationPacketConn, encapsulationPacketConn } from "../encapsulation/packet_conn.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../net/packet_conn.ts";
import type { ClientId } from "../turbotunnel/client_id.ts";
import { TOKEN, TOKEN_LENGTH } from "../turbotunnel/consts.ts";
import { CarrierLostError } from "../turbotunnel/multipath_scheduler.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { ProxyLostReason } from "./events.ts";
import { CarrierLiveness, type LivenessConfig } from "./liveness.ts";
import type { ProxyPeer } from "./proxy_peer.ts";

/** Largest packet accepted from the bridge: KCP's MTU ceiling (kcp-go mtuLimit). */
const MAX_PACKET_SIZE = 1500;
/** Largest data-channel message we send: what a browser proxy forwards as one WebSocket message. */
const MESSAGE_BYTES = 16 * 1024;
/** Packets that may wait for the data channel (see ENCAPSULATION_SEND_QUEUE_SIZE); more are dropped, as UDP. */
const SEND_QUEUE_SIZE = 2048;

export interface CarrierOptions {
  liveness?: Partial<LivenessConfig>;
  clock?: Clock;
  /** Bytes of padding after the ClientID, in the same message; default 0. */
  preamblePadding?: number;
  /** Called for every packet received (the session tells the other carriers: {@link ProxyCarrier.siblingReceived}). */
  onReceive?: () => void;
}

export class ProxyCarrier implements PacketConn {
  readonly peer: ProxyPeer;
  /** Resolves with why the carrier ended. */
  readonly down: Promise<ProxyLostReason>;
  readonly #packets: EncapsulationPacketConn;
  readonly #liveness: CarrierLiveness;
  readonly #clock: Clock;
  readonly #onReceive: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;

  /** Sends the preamble on `peer` and starts carrying; `peer` is owned by the carrier afterwards. */
  static async open(
    peer: ProxyPeer,
    clientId: ClientId,
    options: CarrierOptions = {},
  ): Promise<ProxyCarrier> {
    const padding = encodePadding(options.preamblePadding ?? 0);
    const preamble = new Uint8Array(TOKEN_LENGTH + clientId.bytes.length + padding.length);
    preamble.set(TOKEN, 0);
    preamble.set(clientId.bytes, TOKEN_LENGTH);
    preamble.set(padding, TOKEN_LENGTH + clientId.bytes.length);
    await peer.conn.write(preamble); // before the encapsulation's writer starts: the order on the wire
    return new ProxyCarrier(peer, options);
  }

  private constructor(peer: ProxyPeer, options: CarrierOptions) {
    this.peer = peer;
    this.#clock = options.clock ?? systemClock;
    this.#onReceive = options.onReceive;
    this.#liveness = new CarrierLiveness(this.#clock.now(), options.liveness);
    // The encapsulation gets the channel without its close: the carrier says why the channel ends.
    const channel = {
      read: () => peer.conn.read(),
      write: (data: Uint8Array) => peer.conn.write(data),
      close() {},
    };
    this.#packets = encapsulationPacketConn(channel, peer.id, {
      maxPacketSize: MAX_PACKET_SIZE,
      sendQueueSize: SEND_QUEUE_SIZE,
      coalesceBytes: MESSAGE_BYTES,
      // Malformed input from the proxy; a failed write is the channel's own end, already with its reason.
      onError: (error) => peer.close(error instanceof EncapsulationError ? "bad-input" : "closed"),
    });
    this.down = peer.conn.closed.then(() => {
      clearTimeout(this.#timer);
      this.#packets.close();
      return peer.conn.closeReason ?? "closed";
    });
    this.#arm();
  }

  /** Bytes queued in the data channel and not yet sent. */
  get bufferedAmount(): number {
    return this.peer.conn.bufferedAmount;
  }

  /** Why the carrier ended; null while it carries. */
  get reason(): ProxyLostReason | null {
    return this.peer.lostReason;
  }

  async readFrom(): Promise<Packet | null> {
    const packet = await this.#packets.readFrom();
    if (packet) {
      this.#liveness.handleReceive(this.#clock.now());
      this.#arm();
      this.#onReceive?.();
    }
    return packet;
  }

  writeTo(packet: Uint8Array, addr: string): void {
    if (this.peer.isClosed) throw new ConnClosedError("proxy carrier");
    this.#packets.writeTo(packet, addr);
    this.#liveness.handleSend(this.#clock.now());
    this.#arm();
  }

  /** Queues `bytes` of padding (skipped by every receiver); ignored once the carrier ended. */
  writePadding(bytes: number): void {
    this.#packets.writePadding(bytes);
  }

  /** Another carrier of the session received a packet (see liveness.ts). */
  siblingReceived(): void {
    this.#liveness.handleSiblingReceive(this.#clock.now());
  }

  close(): void {
    this.peer.close("closed");
  }

  /** Ends the carrier because the multiplexer gave up on it; `reason` is the multiplexer's. */
  drop(reason: Error): void {
    this.peer.close(reason instanceof CarrierLostError ? "undelivered" : "closed");
  }

  /** One timer for the liveness rule's next deadline (re-armed only when that moves earlier, or after it fires). */
  #arm(): void {
    if (this.peer.isClosed) return;
    const verdict = this.#liveness.verdict;
    if (verdict !== null) {
      this.peer.close(verdict);
      return;
    }
    const at = this.#liveness.pollTimeout();
    if (at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, at - this.#clock.now()));
  }

  #onTimer = (): void => {
    this.#timerAt = Infinity;
    this.#liveness.handleTimeout(this.#clock.now());
    this.#arm();
  };
}
