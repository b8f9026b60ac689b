/**
 * ClientMap: the server's table of recently seen clients, each with its send
 * queue (SNOWFLAKE-PROTOCOL.md §3.6; Go's common/turbotunnel/clientmap.go).
 * Sans-I/O: the caller passes `now` (ms) to every call and runs `expire(now)`
 * periodically (QueuePacketConn does, every timeout/2).
 *
 * A record's LastSeen is refreshed by every `sendQueue(addr, now)`; `expire`
 * removes records idle ≥ `timeoutMs` and closes their queues (a WebSocket
 * writer waiting on one sees the end and closes; the packets in it are lost and
 * KCP retransmits). A later `sendQueue` for that client makes a fresh queue.
 *
 * Bounds (ours; Go has neither):
 *  - at most `maxClients` records: a new client beyond it evicts the least
 *    recently seen one, as if it had expired;
 *  - queued bytes of all clients together ≤ `maxQueuedBytes`: a packet beyond
 *    it is refused by the queue's `push` (and dropped by the caller).
 */

import { QUEUE_SIZE } from "./consts.ts";
import { ClientSendQueue, QueuedBytesBudget } from "./send_queue.ts";

/** Go Snowflake server's clientMapTimeout: 1 minute (server/lib/http.go). */
export const CLIENT_MAP_TIMEOUT_MS = 60_000;
/** Default bound on clients tracked at once (ours). */
export const CLIENT_MAP_MAX_CLIENTS = 100_000;
/** Default bound on bytes queued for all clients together (ours): 256 MiB. */
export const CLIENT_MAP_MAX_QUEUED_BYTES = 256 * 1024 * 1024;

export interface ClientMapOptions {
  /** Idle time after which a client's record expires; default 1 minute. */
  timeoutMs?: number;
  /** Capacity of each send queue, in packets; default QUEUE_SIZE (512). */
  queueSize?: number;
  maxClients?: number;
  maxQueuedBytes?: number;
}

interface ClientRecord {
  lastSeen: number;
  queue: ClientSendQueue;
}

export class ClientMap {
  readonly timeoutMs: number;
  readonly queueSize: number;
  readonly maxClients: number;
  readonly #budget: QueuedBytesBudget;
  // Insertion order is LastSeen order: a refreshed record is moved to the end.
  readonly #records = new Map<string, ClientRecord>();
  #latest = -Infinity;

  constructor(options: ClientMapOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? CLIENT_MAP_TIMEOUT_MS;
    this.queueSize = options.queueSize ?? QUEUE_SIZE;
    this.maxClients = options.maxClients ?? CLIENT_MAP_MAX_CLIENTS;
    this.#budget = new QueuedBytesBudget(options.maxQueuedBytes ?? CLIENT_MAP_MAX_QUEUED_BYTES);
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${this.timeoutMs}`);
    if (!(this.maxClients >= 1)) {
      throw new RangeError(`maxClients must be at least 1, got ${this.maxClients}`);
    }
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#records.size;
  }

  /** Bytes queued for all clients together. */
  get queuedBytes(): number {
    return this.#budget.used;
  }

  /** `addr`'s send queue, created if needed; marks `addr` as seen at `now`. */
  sendQueue(addr: string, now: number): ClientSendQueue {
    // Never let LastSeen go backwards relative to others, so insertion order stays LastSeen order.
    this.#latest = Math.max(this.#latest, now);
    let record = this.#records.get(addr);
    if (record) {
      this.#records.delete(addr);
    } else {
      if (this.#records.size >= this.maxClients) this.#removeOldest();
      record = { lastSeen: 0, queue: new ClientSendQueue(this.queueSize, this.#budget) };
    }
    record.lastSeen = this.#latest;
    this.#records.set(addr, record);
    return record.queue;
  }

  /** Removes the records idle ≥ timeoutMs at `now`, closing their queues; returns how many. */
  expire(now: number): number {
    let removed = 0;
    for (const [addr, record] of this.#records) {
      if (now - record.lastSeen < this.timeoutMs) break;
      this.#remove(addr, record);
      removed++;
    }
    return removed;
  }

  /** Removes every record, closing its queue. */
  clear(): void {
    for (const [addr, record] of this.#records) this.#remove(addr, record);
  }

  #removeOldest(): void {
    const oldest = this.#records.entries().next();
    if (!oldest.done) this.#remove(...oldest.value);
  }

  #remove(addr: string, record: ClientRecord): void {
    this.#records.delete(addr);
    record.queue.clear();
    record.queue.close();
  }
}
