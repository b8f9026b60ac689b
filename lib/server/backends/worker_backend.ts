/**
 * The Turbo Tunnel backend for `num-turbotunnel=N` ≥ 2 (SNOWFLAKE-PROTOCOL.md
 * §3.11): N KCP instances, each in its own Web Worker so the server uses more
 * than one core. A ClientID goes to worker (ClientID as LE uint64) mod N, as
 * in Go. The main thread keeps the per-client send queues (a QueuePacketConn
 * whose incoming side is unused), so carriers work the same as with one
 * instance; packets cross to and from the workers in batches.
 */

import { QueuePacketConn } from "../../turbotunnel/queue_packet_conn.ts";
import type { ClientId } from "../../turbotunnel/client_id.ts";
import type { ClientSendQueue } from "../../turbotunnel/send_queue.ts";
import type { Clock } from "../../util/clock.ts";
import type { LogSink } from "../../util/log.ts";
import type { TurbotunnelBackend } from "./backend.ts";
import { sumTunnelCounters, type TunnelCounters } from "../operations/counters.ts";
import type { TunnelEvent } from "../operations/events.ts";
import { kcpInstanceIndex } from "./shard.ts";
import {
  forEachPacket,
  type FromWorker,
  PacketBatcher,
  type ToWorker,
  transferOf,
  type WorkerConfig,
} from "./worker_protocol.ts";

export interface WorkerBackendOptions {
  instances: number;
  /** Settings shared by every worker (its index is filled in). */
  config: Omit<WorkerConfig, "index">;
  /** Where workers' log lines go (already formatted and scrubbed). */
  logSink: LogSink;
  clock: Clock;
  maxQueuedBytes?: number;
  /** Called with each worker's session events. */
  onEvent?: (event: TunnelEvent) => void;
}

const COUNTERS_TIMEOUT_MS = 2_000;

interface WorkerHandle {
  worker: Worker;
  incoming: PacketBatcher;
  closed: PromiseWithResolvers<void>;
}

export class WorkerBackend implements TurbotunnelBackend {
  readonly #outgoing: QueuePacketConn;
  readonly #workers: WorkerHandle[] = [];
  readonly #pendingCounters = new Map<number, { left: number; parts: TunnelCounters[]; done: () => void }>();
  #nextRequest = 0;

  readonly #options: WorkerBackendOptions;
  #closing = false;

  constructor(options: WorkerBackendOptions) {
    this.#options = options;
    this.#outgoing = new QueuePacketConn({ clock: options.clock, maxQueuedBytes: options.maxQueuedBytes });
    for (let index = 0; index < options.instances; index++) this.#workers.push(this.#spawn(index));
  }

  /**
   * Starts worker `index`. A worker that fails (an uncaught error) is logged and
   * replaced by a fresh one: its sessions are lost (their clients reconnect), new
   * sessions for its ClientIDs are served again.
   */
  #spawn(index: number): WorkerHandle {
    const { logSink } = this.#options;
    const worker = new Worker(new URL("./kcp_worker.ts", import.meta.url).href, { type: "module" });
    const post = (message: ToWorker, transfer: Transferable[] = []) => worker.postMessage(message, transfer);
    const handle: WorkerHandle = {
      worker,
      incoming: new PacketBatcher((batch) => post({ type: "packets", batch }, transferOf(batch))),
      closed: Promise.withResolvers<void>(),
    };
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.#onMessage(handle, event.data, logSink);
    worker.onerror = (event) => {
      event.preventDefault();
      handle.closed.resolve();
      worker.terminate();
      if (this.#closing) return;
      logSink(`kcp worker ${index} failed: ${event.message}; starting a new one`, "error");
      this.#workers[index] = this.#spawn(index);
    };
    post({ type: "init", config: { ...this.#options.config, index } });
    return handle;
  }

  #onMessage(handle: WorkerHandle, message: FromWorker, logSink: LogSink): void {
    switch (message.type) {
      case "packets":
        forEachPacket(message.batch, (packet, addr) => this.#outgoing.writeTo(packet, addr));
        break;
      case "event":
        this.#options.onEvent?.(message.event);
        break;
      case "log":
        logSink(message.line, message.level);
        break;
      case "counters": {
        const pending = this.#pendingCounters.get(message.id);
        if (!pending) break;
        pending.parts.push(message.counters);
        if (--pending.left === 0) pending.done();
        break;
      }
      case "closed":
        handle.closed.resolve();
        break;
    }
  }

  #workerFor(clientId: ClientId): WorkerHandle {
    return this.#workers[kcpInstanceIndex(clientId.bytes, this.#workers.length)];
  }

  setClientAddr(clientId: ClientId, addr: string): void {
    const handle = this.#workerFor(clientId);
    handle.incoming.flush(); // keep order with packets already collected
    handle.worker.postMessage({ type: "addr", clientId: clientId.toString(), addr } satisfies ToWorker);
  }

  queueIncoming(packet: Uint8Array, clientId: ClientId): void {
    this.#workerFor(clientId).incoming.add(packet, clientId.toString());
  }

  outgoingQueue(clientId: ClientId): ClientSendQueue {
    return this.#outgoing.outgoingQueue(clientId.toString());
  }

  /** The workers' counters added up; a worker that does not answer within 2 s is left out. */
  counters(): Promise<TunnelCounters> {
    const id = this.#nextRequest++;
    const { promise, resolve } = Promise.withResolvers<TunnelCounters>();
    const parts: TunnelCounters[] = [];
    const done = () => {
      clearTimeout(timer);
      this.#pendingCounters.delete(id);
      const total = sumTunnelCounters(parts);
      total.packetsDroppedOutgoing += this.#outgoing.droppedOutgoing;
      resolve(total);
    };
    const timer = setTimeout(done, COUNTERS_TIMEOUT_MS);
    this.#pendingCounters.set(id, { left: this.#workers.length, parts, done });
    for (const { worker } of this.#workers) worker.postMessage({ type: "counters", id } satisfies ToWorker);
    return promise;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const { worker, incoming } of this.#workers) {
      incoming.flush();
      worker.postMessage({ type: "close" } satisfies ToWorker);
    }
    await Promise.all(this.#workers.map((handle) => handle.closed.promise));
    for (const { worker } of this.#workers) worker.terminate();
    this.#outgoing.close();
  }
}
