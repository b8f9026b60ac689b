/**
 * The Turbo Tunnel backend in the server's own thread (`num-turbotunnel=1`,
 * the Go layout): one QueuePacketConn that every carrier feeds and drains, one
 * {@link TurbotunnelInstance} over it, and the ClientID→IP map.
 */

import { QueuePacketConn } from "../../turbotunnel/queue_packet_conn.ts";
import type { ClientId } from "../../turbotunnel/client_id.ts";
import type { ClientSendQueue } from "../../turbotunnel/send_queue.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import type { TurbotunnelBackend } from "./backend.ts";
import { ClientIdAddrMap } from "../tunnel/client_id_addr_map.ts";
import { newTunnelCounters, type TunnelCounters } from "../operations/counters.ts";
import type { TunnelEvent } from "../operations/events.ts";
import { LogLimiter } from "../operations/log_limiter.ts";
import { type TorConfig, torDialer } from "../tunnel/tor_dialer.ts";
import { TurbotunnelInstance } from "../tunnel/tunnel.ts";

export interface LocalBackendOptions {
  tor: TorConfig;
  logger: Logger;
  clock: Clock;
  maxSessions?: number;
  clientAddrCapacity?: number;
  /** Bytes queued for all clients together at most (QueuePacketConn's shared budget). */
  maxQueuedBytes?: number;
  /** Called with each session event. */
  onEvent?: (event: TunnelEvent) => void;
}

export class LocalBackend implements TurbotunnelBackend {
  readonly #conn: QueuePacketConn;
  readonly #addrs: ClientIdAddrMap;
  readonly #counters = newTunnelCounters();
  readonly #instance: TurbotunnelInstance;

  constructor(options: LocalBackendOptions) {
    this.#conn = new QueuePacketConn({ clock: options.clock, maxQueuedBytes: options.maxQueuedBytes });
    this.#addrs = new ClientIdAddrMap(options.clientAddrCapacity);
    this.#instance = new TurbotunnelInstance(this.#conn, {
      dialTor: torDialer(options.tor),
      clientAddr: (id) => this.#addrs.get(id),
      clientAddrCapacity: this.#addrs.capacity,
      counters: this.#counters,
      logger: options.logger,
      log: new LogLimiter(options.logger),
      clock: options.clock,
      maxSessions: options.maxSessions,
      onEvent: options.onEvent,
    });
  }

  setClientAddr(clientId: ClientId, addr: string): void {
    this.#addrs.set(clientId.toString(), addr);
  }

  queueIncoming(packet: Uint8Array, clientId: ClientId): void {
    this.#conn.queueIncoming(packet, clientId.toString());
  }

  outgoingQueue(clientId: ClientId): ClientSendQueue {
    return this.#conn.outgoingQueue(clientId.toString());
  }

  counters(): Promise<TunnelCounters> {
    this.#instance.updateCounters();
    this.#counters.packetsDroppedIncoming = this.#conn.droppedIncoming;
    this.#counters.packetsDroppedOutgoing = this.#conn.droppedOutgoing;
    return Promise.resolve({ ...this.#counters });
  }

  async close(): Promise<void> {
    await this.#instance.close();
    this.#conn.close();
  }
}
