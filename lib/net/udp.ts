/**
 * A PacketConn over a UDP socket (`Deno.listenDatagram`, which needs the `net`
 * unstable feature; deno.json enables it). Snowflake never runs KCP over UDP,
 * but our conformance tests and benches do, against kcp-go on loopback.
 *
 * The socket lives in a worker (udp_worker.ts), so it is drained while this
 * thread runs KCP: a kernel receive buffer holds only ~100 full-size datagrams,
 * and kcp-go sends a whole window at once. Packets cross between the threads
 * in batches (udp_batch.ts): every writeTo of one task goes over in one message,
 * and the worker hands over whatever it received while the previous batch was
 * being consumed. Deno has no recvmmsg/sendmmsg, so the worker still makes one
 * receive and one send call per datagram.
 *
 * Behaves like UDP everywhere: writeTo never waits and drops when too many
 * sends are pending or a send fails; a failed receive (an ICMP error) is
 * skipped; received packets wait in bounded queues (in the worker and here)
 * and are dropped when those are full. `dropped` counts all of it.
 *
 * Addresses are "host:port" strings ("[::1]:port" for IPv6), as Go prints them.
 */

import { AsyncQueue } from "./async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "./packet_conn.ts";
import { BatchWriter, forEachPacket } from "./udp_batch.ts";
import { parseUdpAddr } from "./udp_addr.ts";
import type { FromWorker, ToWorker } from "./udp_worker.ts";

export { formatUdpAddr, MAX_UDP_PAYLOAD, parseUdpAddr } from "./udp_addr.ts";

export interface UdpOptions {
  /** Address to bind; default 127.0.0.1. */
  hostname?: string;
  /** Port to bind; default 0 (any free port). */
  port?: number;
  /** Received packets waiting for readFrom, here and again in the worker; default 1024 (more: dropped). */
  queueSize?: number;
  /** Packets waiting to be sent, per batch here and in the worker; default 1024 (more: dropped). */
  maxPendingSends?: number;
}

/** Opens a UDP socket (in a worker) as a PacketConn; rejects if it cannot bind. */
export function listenUdp(options: UdpOptions = {}): Promise<UdpPacketConn> {
  const worker = new Worker(new URL("./udp_worker.ts", import.meta.url).href, { type: "module" });
  const queueSize = options.queueSize ?? 1024;
  const maxPendingSends = options.maxPendingSends ?? 1024;
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const message = event.data;
      if (message.type === "opened") {
        resolve(new UdpPacketConn(worker, message.localAddr, queueSize, maxPendingSends));
      } else {
        worker.terminate();
        reject(
          new Error(
            `UDP listen on ${options.hostname ?? "127.0.0.1"}:${options.port ?? 0} failed: ${
              message.type === "failed" ? message.message : message.type
            }`,
          ),
        );
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      reject(new Error(`UDP worker failed: ${event.message}`));
    };
    const open: ToWorker = {
      type: "open",
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      queueSize,
      maxPendingSends,
    };
    worker.postMessage(open);
  });
}

/** Parsed-address checks remembered; at the bound the cache is emptied (then refills). */
const ADDR_CACHE_SIZE = 1024;

export class UdpPacketConn implements PacketConn {
  /** Where the socket is bound, "host:port". */
  readonly localAddr: string;
  /** Resolves once the socket is closed and the worker has ended. */
  readonly closed: Promise<void>;
  readonly #worker: Worker;
  readonly #incoming: AsyncQueue<Packet>;
  readonly #maxPendingSends: number;
  #sends: BatchWriter | null = null;
  #checkedAddrs = new Set<string>();
  #isClosed = false;
  #droppedHere = 0;
  #droppedInWorker = 0;
  #resolveClosed!: () => void;

  /** Use {@link listenUdp}. */
  constructor(worker: Worker, localAddr: string, queueSize: number, maxPendingSends: number) {
    this.#worker = worker;
    this.localAddr = localAddr;
    this.#incoming = new AsyncQueue(queueSize);
    this.#maxPendingSends = maxPendingSends;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    worker.onmessage = (event: MessageEvent<FromWorker>) => this.#onMessage(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#end(); // the worker died: nothing more will arrive
    };
  }

  /** Packets dropped so far: queues full, or a send failed. */
  get dropped(): number {
    return this.#droppedHere + this.#droppedInWorker;
  }

  readFrom(): Promise<Packet | null> {
    return this.#incoming.shift();
  }

  writeTo(packet: Uint8Array, addr: string): void {
    if (this.#isClosed) throw new ConnClosedError("UDP socket");
    if (!this.#checkedAddrs.has(addr)) {
      parseUdpAddr(addr); // a malformed address is the caller's bug: throw here, not in the worker
      if (this.#checkedAddrs.size >= ADDR_CACHE_SIZE) this.#checkedAddrs.clear();
      this.#checkedAddrs.add(addr);
    }
    if (this.#sends === null) {
      this.#sends = new BatchWriter();
      queueMicrotask(this.#flushSends);
    }
    if (this.#sends.count >= this.#maxPendingSends) {
      this.#droppedHere++; // a burst beyond the bound in one task: drop, as a full socket buffer would
      return;
    }
    this.#sends.add(packet, addr);
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#sends = null;
    this.#incoming.close();
    this.#post({ type: "close" });
  }

  #flushSends = (): void => {
    const sends = this.#sends;
    this.#sends = null;
    if (sends === null || this.#isClosed) return;
    const batch = sends.finish();
    this.#post({ type: "send", batch }, [batch.data]);
  };

  #onMessage(message: FromWorker): void {
    switch (message.type) {
      case "packets":
        this.#droppedInWorker = message.dropped;
        forEachPacket(message.batch, (packet, addr) => {
          if (!this.#incoming.push({ packet, addr })) this.#droppedHere++; // full (or closed): drop
        });
        if (!this.#isClosed) this.#post({ type: "ack" });
        return;
      case "closed":
        this.#droppedInWorker = message.dropped;
        this.#end();
        return;
    }
  }

  #post(message: ToWorker, transfer: Transferable[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #end(): void {
    this.#isClosed = true;
    this.#incoming.close();
    this.#worker.terminate();
    this.#resolveClosed();
  }
}
