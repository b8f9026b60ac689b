/**
 * A PacketConn over a UDP socket (`Deno.listenDatagram`, which needs the
 * `net` unstable feature; deno.json enables it). Snowflake never runs KCP over
 * UDP, but our conformance tests and benches do, against kcp-go on loopback.
 *
 * Behaves like UDP everywhere: `writeTo` never waits and drops the packet when
 * too many sends are pending or when the send fails; a failed receive (an ICMP
 * error surfaced by the kernel) is skipped; received packets wait in a bounded
 * queue and are dropped when it is full.
 *
 * Deno has no recvmmsg and gives no order between concurrent receives on one
 * socket (several in flight reorder packets, which KCP would answer with
 * spurious retransmissions), so one receive loop feeds the queue; `readFrom`
 * hands out what has queued up meanwhile without waiting.
 *
 * Addresses are "host:port" strings ("[::1]:port" for IPv6), as Go prints them.
 */

import { AsyncQueue } from "./async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "./packet_conn.ts";

export interface UdpOptions {
  /** Address to bind; default 127.0.0.1. */
  hostname?: string;
  /** Port to bind; default 0 (any free port). */
  port?: number;
  /** Received packets waiting for `readFrom`; default 1024 (more arrive: dropped). */
  queueSize?: number;
  /** Sends handed to the runtime and not yet done; default 1024 (more: dropped). */
  maxPendingSends?: number;
}

/** Largest UDP payload over IPv4 (65535 − 8 − 20). */
export const MAX_UDP_PAYLOAD = 65507;

/** Opens a UDP socket as a PacketConn. */
export function listenUdp(options: UdpOptions = {}): UdpPacketConn {
  const socket = Deno.listenDatagram({
    transport: "udp",
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
  });
  return new UdpPacketConn(socket, options);
}

/** Formats a socket address as "host:port" ("[v6]:port"). */
export function formatUdpAddr(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** Parses "host:port" or "[v6]:port"; throws RangeError on anything else. */
export function parseUdpAddr(addr: string): Deno.NetAddr {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(addr);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new RangeError(`not a UDP address (host:port): ${JSON.stringify(addr)}`);
  return { transport: "udp", hostname: match[1] ?? match[2], port };
}

/** Parsed destinations kept for reuse; at the bound the cache is emptied (then refills). */
const ADDR_CACHE_SIZE = 1024;

export class UdpPacketConn implements PacketConn {
  /** Where the socket is bound, "host:port". */
  readonly localAddr: string;
  /** Resolves once the socket is closed and its pending receive and send have settled. */
  readonly closed: Promise<void>;
  /** Packets dropped so far: send queue full, send failed, or receive queue full. */
  dropped = 0;

  #socket: Deno.DatagramConn;
  #incoming: AsyncQueue<Packet>;
  /** Packets waiting for the send loop; when full, writeTo drops. */
  #outgoing: AsyncQueue<{ packet: Uint8Array; dest: Deno.NetAddr }>;
  #sending: Promise<void> = Promise.resolve();
  #isSending = false;
  #isClosed = false;
  #addrs = new Map<string, Deno.NetAddr>();

  constructor(socket: Deno.DatagramConn, options: UdpOptions = {}) {
    this.#socket = socket;
    this.localAddr = formatUdpAddr(socket.addr as Deno.NetAddr);
    this.#incoming = new AsyncQueue(options.queueSize ?? 1024);
    this.#outgoing = new AsyncQueue(options.maxPendingSends ?? 1024);
    this.closed = this.#receiveLoop().then(() => this.#sending);
  }

  readFrom(): Promise<Packet | null> {
    return this.#incoming.shift();
  }

  writeTo(packet: Uint8Array, addr: string): void {
    if (this.#isClosed) throw new ConnClosedError("UDP socket");
    let dest = this.#addrs.get(addr);
    if (!dest) {
      dest = parseUdpAddr(addr);
      if (this.#addrs.size >= ADDR_CACHE_SIZE) this.#addrs.clear();
      this.#addrs.set(addr, dest);
    }
    if (!this.#outgoing.push({ packet, dest })) {
      this.dropped++; // the runtime is behind: drop, as a full socket buffer would
      return;
    }
    if (!this.#isSending) this.#sending = this.#sendLoop();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#incoming.close();
    this.#outgoing.close();
    this.#outgoing.clear();
    this.#socket.close();
  }

  /** Sends queued packets one at a time: concurrent sends on one socket may go out reordered. */
  async #sendLoop(): Promise<void> {
    this.#isSending = true;
    for (let next = this.#outgoing.tryShift(); next && !this.#isClosed; next = this.#outgoing.tryShift()) {
      const { packet, dest } = next;
      try {
        await this.#socket.send(packet, dest);
      } catch {
        if (!this.#isClosed) this.dropped++; // e.g. EHOSTUNREACH: lost, like any UDP packet
      }
    }
    this.#isSending = false;
  }

  async #receiveLoop(): Promise<void> {
    const buffer = new Uint8Array(MAX_UDP_PAYLOAD + 1);
    while (!this.#isClosed) {
      let packet: Uint8Array;
      let from: Deno.Addr;
      try {
        [packet, from] = await this.#socket.receive(buffer);
      } catch {
        continue; // closed (the loop ends), or an ICMP error for an earlier send: skip it
      }
      if (!this.#incoming.push({ packet: packet.slice(), addr: formatUdpAddr(from as Deno.NetAddr) })) {
        this.dropped++; // queue full (or closed): drop
      }
    }
  }
}
