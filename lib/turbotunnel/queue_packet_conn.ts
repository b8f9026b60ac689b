/**
 * QueuePacketConn: the server's PacketConn for KCP, fed and drained by the
 * WebSocket handlers rather than a socket (SNOWFLAKE-PROTOCOL.md §3.5; Go's
 * common/turbotunnel/queuepacketconn.go). Packets are addressed by ClientID
 * string.
 *
 *  - Incoming: handlers call `queueIncoming(packet, clientId)`; KCP's `readFrom`
 *    takes them. One queue of `queueSize` packets; when full the packet is
 *    dropped (counted in `droppedIncoming`).
 *  - Outgoing: KCP's `writeTo(packet, clientId)` puts the packet on that
 *    client's queue in the ClientMap; when full (or over the map's shared byte
 *    budget) it is dropped (counted in `droppedOutgoing`). Handlers take packets
 *    with `outgoingQueue(clientId).shift(signal)`; several handlers may wait on
 *    one client's queue and each packet goes to exactly one of them.
 *
 * This adapter owns the ClientMap's only timer: every timeout/2 it expires idle
 * clients. After `close()` everything ends: `readFrom` returns null, queues are
 * closed, and `writeTo`/`outgoingQueue` throw ConnClosedError.
 */

import { AsyncQueue } from "../net/async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../net/packet_conn.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { ClientMap } from "./client_map.ts";
import { QUEUE_SIZE } from "./consts.ts";
import type { ClientSendQueue } from "./send_queue.ts";

/** Bounds of a {@link QueuePacketConn}. */
export interface QueuePacketConnOptions {
  /** Capacity of the incoming queue and of each client's send queue; default QUEUE_SIZE (512). */
  queueSize?: number;
  /** Idle time after which a client's send queue is dropped; default 1 minute (Go's server). */
  clientTimeoutMs?: number;
  /** Clients remembered at most; a new one past it evicts the least recently seen (see client_map.ts). */
  maxClients?: number;
  /** Bytes queued for all clients together at most; past it, packets are dropped. */
  maxQueuedBytes?: number;
  /** Time source for the idle-client sweep; default the system's monotonic clock. */
  clock?: Clock;
}

/**
 * The server side of Turbo Tunnel (Go `QueuePacketConn`): a PacketConn whose addresses are ClientIDs; carriers queue incoming packets and drain each client's outgoing queue, KCP reads and writes it.
 */
export class QueuePacketConn implements PacketConn {
  /**
   * The clients and their send queues (the server's carriers drain them).
   * @ignore
   */
  readonly clients: ClientMap;
  readonly #incoming: AsyncQueue<Packet>;
  readonly #clock: Clock;
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;
  #droppedIncoming = 0;
  #droppedOutgoing = 0;

  /** Starts the idle-client sweep; {@link close} stops it. */
  constructor(options: QueuePacketConnOptions = {}) {
    const queueSize = options.queueSize ?? QUEUE_SIZE;
    this.clients = new ClientMap({
      timeoutMs: options.clientTimeoutMs,
      queueSize,
      maxClients: options.maxClients,
      maxQueuedBytes: options.maxQueuedBytes,
    });
    this.#incoming = new AsyncQueue(queueSize);
    this.#clock = options.clock ?? systemClock;
    this.#timer = setInterval(() => this.clients.expire(this.#clock.now()), this.clients.timeoutMs / 2);
  }

  /** Incoming packets dropped because the queue was full. */
  get droppedIncoming(): number {
    return this.#droppedIncoming;
  }

  /** Outgoing packets dropped because their client's queue (or the shared byte budget) was full. */
  get droppedOutgoing(): number {
    return this.#droppedOutgoing;
  }

  /** Hands KCP a packet from client `addr`; false if it was dropped (queue full, or closed). Takes ownership. */
  queueIncoming(packet: Uint8Array, addr: string): boolean {
    if (this.#closed) return false;
    if (this.#incoming.push({ packet, addr })) return true;
    this.#droppedIncoming++;
    return false;
  }

  /**
   * The send queue of client `addr` (created if needed; refreshes the client's LastSeen).
   * @ignore
   */
  outgoingQueue(addr: string): ClientSendQueue {
    if (this.#closed) throw new ConnClosedError("QueuePacketConn");
    return this.clients.sendQueue(addr, this.#clock.now());
  }

  /** The next incoming packet and its ClientID; null once closed. */
  readFrom(): Promise<Packet | null> {
    return this.#incoming.shift();
  }

  /** Queues `packet` for client `addr`, or drops it if that queue is full. Takes ownership. */
  writeTo(packet: Uint8Array, addr: string): void {
    if (this.#closed) throw new ConnClosedError("QueuePacketConn");
    if (!this.clients.sendQueue(addr, this.#clock.now()).push(packet)) this.#droppedOutgoing++;
  }

  /** Ends `readFrom` with null and drops every client's queue. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#incoming.clear();
    this.#incoming.close();
    this.clients.clear();
  }
}
