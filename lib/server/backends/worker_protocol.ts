/**
 * Messages between the server's main thread and its KCP Web Workers
 * (`num-turbotunnel` ≥ 2). Packets cross in batches: one ArrayBuffer holding
 * the packets back to back (transferred, not copied), their lengths and their
 * ClientIDs. A batch is flushed at the end of the current task (a microtask),
 * or at once when it reaches {@link WORKER_BATCH_BYTES}, so one WebSocket message
 * or one KCP flush costs one postMessage.
 */

import type { SrcAddrRange } from "../tunnel/src_addr.ts";
import type { TunnelCounters } from "../operations/counters.ts";
import type { TunnelEvent } from "../operations/events.ts";
import type { OrTarget } from "../../pt/dial_or.ts";
import type { LogLevel } from "../../util/log.ts";

export interface PacketBatch {
  data: ArrayBuffer;
  lengths: Uint32Array<ArrayBuffer>;
  addrs: string[];
}

/** Plain-data settings for one worker. */
export interface WorkerConfig {
  index: number;
  target: OrTarget;
  srcAddr?: SrcAddrRange;
  unsafeLogging: boolean;
  verbose: boolean;
  maxSessions?: number;
  clientAddrCapacity: number;
  /** Packets waiting for KCP at most (dropped beyond, like QueuePacketConn's incoming queue). */
  queueSize: number;
}

export type ToWorker =
  | { type: "init"; config: WorkerConfig }
  | { type: "packets"; batch: PacketBatch }
  | { type: "addr"; clientId: string; addr: string }
  | { type: "counters"; id: number }
  | { type: "close" };

export type FromWorker =
  | { type: "packets"; batch: PacketBatch }
  | { type: "log"; line: string; level: LogLevel }
  | { type: "counters"; id: number; counters: TunnelCounters }
  | { type: "event"; event: TunnelEvent }
  | { type: "closed" };

const WORKER_BATCH_BYTES = 256 * 1024;

/** Collects packets and hands them to `send` as one batch per task. */
export class PacketBatcher {
  #packets: Uint8Array[] = [];
  #addrs: string[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(readonly send: (batch: PacketBatch) => void) {}

  add(packet: Uint8Array, addr: string): void {
    this.#packets.push(packet);
    this.#addrs.push(addr);
    this.#bytes += packet.length;
    if (this.#bytes >= WORKER_BATCH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sends what is collected now (nothing if empty). */
  flush(): void {
    this.#scheduled = false;
    if (this.#packets.length === 0) return;
    const data = new Uint8Array(this.#bytes);
    const lengths = new Uint32Array(this.#packets.length);
    let offset = 0;
    for (let i = 0; i < this.#packets.length; i++) {
      data.set(this.#packets[i], offset);
      lengths[i] = this.#packets[i].length;
      offset += this.#packets[i].length;
    }
    const batch = { data: data.buffer, lengths, addrs: this.#addrs };
    this.#packets = [];
    this.#addrs = [];
    this.#bytes = 0;
    this.send(batch);
  }
}

/** Calls `each` for every packet in `batch` (views into its buffer). */
export function forEachPacket(batch: PacketBatch, each: (packet: Uint8Array, addr: string) => void): void {
  let offset = 0;
  for (let i = 0; i < batch.lengths.length; i++) {
    const length = batch.lengths[i];
    each(new Uint8Array(batch.data, offset, length), batch.addrs[i]);
    offset += length;
  }
}

/** The transfer list for posting `batch`. */
export function transferOf(batch: PacketBatch): Transferable[] {
  return [batch.data, batch.lengths.buffer];
}
