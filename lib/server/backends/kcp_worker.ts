/**
 * Entry point of a KCP Web Worker (`num-turbotunnel` ≥ 2; SNOWFLAKE-PROTOCOL.md
 * §3.11): one {@link TurbotunnelInstance} whose PacketConn is the message port
 * to the main thread. The main thread sends the packets of the ClientIDs
 * assigned to this worker and their USERADDRs; the worker sends back packets
 * for clients (the main thread queues them per ClientID for the WebSockets),
 * log lines (already formatted and scrubbed) and counters on request. The
 * worker connects to tor itself.
 */

/// <reference lib="deno.worker" />

import { AsyncQueue } from "../../net/async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../../net/packet_conn.ts";
import { systemClock } from "../../util/clock.ts";
import { Logger } from "../../util/log.ts";
import { ClientIdAddrMap } from "../tunnel/client_id_addr_map.ts";
import { newTunnelCounters } from "../operations/counters.ts";
import { LogLimiter } from "../operations/log_limiter.ts";
import { torDialer } from "../tunnel/tor_dialer.ts";
import { TurbotunnelInstance } from "../tunnel/tunnel.ts";
import {
  forEachPacket,
  type FromWorker,
  PacketBatcher,
  type ToWorker,
  transferOf,
  type WorkerConfig,
} from "./worker_protocol.ts";

const post = (message: FromWorker, transfer: Transferable[] = []) => self.postMessage(message, transfer);

/** Packets from the main thread in, packets to it out. */
class PortPacketConn implements PacketConn {
  readonly incoming: AsyncQueue<Packet>;
  readonly #out = new PacketBatcher((batch) => post({ type: "packets", batch }, transferOf(batch)));
  dropped = 0;
  #closed = false;

  constructor(queueSize: number) {
    this.incoming = new AsyncQueue(queueSize);
  }

  readFrom(): Promise<Packet | null> {
    return this.incoming.shift();
  }

  writeTo(packet: Uint8Array, addr: string): void {
    if (this.#closed) throw new ConnClosedError("worker packet connection");
    this.#out.add(packet, addr);
  }

  close(): void {
    this.#closed = true;
    this.incoming.close();
  }
}

let conn: PortPacketConn | undefined;
let addrs: ClientIdAddrMap | undefined;
let instance: TurbotunnelInstance | undefined;
const counters = newTunnelCounters();

function start(config: WorkerConfig): void {
  const logger = new Logger((line, level) => post({ type: "log", line, level }), {
    unsafeLogging: config.unsafeLogging,
    verbose: config.verbose,
    prefix: `kcp ${config.index}: `,
  });
  conn = new PortPacketConn(config.queueSize);
  addrs = new ClientIdAddrMap(config.clientAddrCapacity);
  const map = addrs;
  instance = new TurbotunnelInstance(conn, {
    dialTor: torDialer({ target: config.target, srcAddr: config.srcAddr }),
    clientAddr: (id) => map.get(id),
    clientAddrCapacity: map.capacity,
    counters,
    logger,
    log: new LogLimiter(logger),
    clock: systemClock,
    maxSessions: config.maxSessions,
    onEvent: (event) => post({ type: "event", event }),
  });
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      start(message.config);
      break;
    case "packets": {
      const target = conn!;
      forEachPacket(message.batch, (packet, addr) => {
        if (!target.incoming.push({ packet, addr })) target.dropped++;
      });
      break;
    }
    case "addr":
      addrs!.set(message.clientId, message.addr);
      break;
    case "counters":
      instance!.updateCounters();
      counters.packetsDroppedIncoming = conn!.dropped;
      post({ type: "counters", id: message.id, counters: { ...counters } });
      break;
    case "close":
      await instance?.close();
      conn?.close();
      post({ type: "closed" });
      self.close();
      break;
  }
};
