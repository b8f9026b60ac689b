/**
 * A PacketConn over a kernel UDP socket, driven through libc by Deno FFI
 * (udp_libc.ts; needs --allow-ffi, Linux). Snowflake never runs KCP over UDP,
 * but our conformance tests and benches do, against kcp-go on loopback.
 *
 * Why not `Deno.listenDatagram`: it receives one datagram per call and cannot
 * size the kernel's buffers, and KCP without congestion control sends a whole
 * window at once; the default receive buffer (~100 full-size datagrams)
 * overflows while one-at-a-time reads catch up. Here:
 *
 * - the socket's receive and send buffers are set to a few MiB (udp_socket.ts);
 *   the kernel's receive buffer is the one receive queue;
 * - reading takes up to {@link RECEIVE_BATCH} messages per `recvmmsg`, pulled
 *   when the previous batch has been read (so at most one batch waits here):
 *   first on the JS thread without waiting (MSG_DONTWAIT; a call through the
 *   FFI thread pool costs ~30 µs, a batch's worth of kernel work), and when the
 *   socket is empty, or every few batches so that the event loop turns, by a
 *   blocking call on Deno's FFI thread pool. One receive at a time keeps
 *   datagrams in order. With UDP_GRO (where the kernel has it) a message may be
 *   a run of datagrams from one source, coalesced by the kernel (on loopback: a
 *   peer's segmented send, kept whole); it is cut back into its datagrams here;
 * - `writeTo` copies the datagram into a preallocated batch; the batch goes out
 *   in one synchronous `sendmmsg` (MSG_DONTWAIT) at the end of the current
 *   microtask run, or at once when it is full. Runs of datagrams for one peer
 *   travel as segmented messages (UDP_SEGMENT, udp_mmsg.ts) where the kernel
 *   has it: the same datagrams on the wire, the kernel's per-datagram cost paid
 *   about once per run. Should the kernel refuse a segmented message (EIO,
 *   EINVAL: no checksum offload on the route, say), it goes again as single
 *   datagrams and segmentation stays off for the socket;
 * - close() shuts the socket down, which wakes a blocked receive (SO_RCVTIMEO
 *   bounds the wait should it not), and closes the descriptor once that
 *   receive has returned. `closed` resolves then.
 *
 * Behaves like UDP everywhere: writeTo never waits; a datagram the kernel
 * refuses (send buffer full, too large, unreachable) is dropped; the kernel
 * drops what does not fit its receive buffer. `dropped` counts both (the
 * kernel's count through SO_MEMINFO, which counts a dropped GRO run as one).
 *
 * Addresses are "ip:port" strings ("[::1]:port" for IPv6), as Go prints them;
 * hosts are IP literals (udp_sockaddr.ts), IPv4 or IPv6.
 */

import { errorMessage } from "../../../lib/util/errors.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../../../lib/net/packet_conn.ts";
import {
  describeErrno,
  EAGAIN,
  EINTR,
  EINVAL,
  EIO,
  ENOBUFS,
  ENOMEM,
  EOPNOTSUPP,
  errno,
  type Libc,
  libc,
  MSG_DONTWAIT,
  MSG_WAITFORONE,
  SHUT_RDWR,
} from "./udp_libc.ts";
import { ReceiveVector, SendVector } from "./udp_mmsg.ts";
import { decodeSockaddr, encodeSockaddr, SOCKADDR_IN6_SIZE } from "./udp_sockaddr.ts";
import { kernelDrops, openUdpSocket, type UdpSocket } from "./udp_socket.ts";

export { formatUdpAddr, MAX_UDP_PAYLOAD, parseUdpAddr } from "../../../lib/net/udp_addr.ts";

export interface UdpOptions {
  /** IP address to bind (IPv4 or IPv6 literal); default 127.0.0.1. */
  hostname?: string;
  /** Port to bind; default 0 (any free port). */
  port?: number;
  /** Kernel receive buffer to ask for (SO_RCVBUFFORCE when allowed, else SO_RCVBUF: at most net.core.rmem_max); default 8 MiB. */
  receiveBufferBytes?: number;
  /** Kernel send buffer to ask for (SO_SNDBUFFORCE when allowed, else SO_SNDBUF: at most net.core.wmem_max); default 4 MiB. */
  sendBufferBytes?: number;
  /** Merge datagrams for one peer into segmented sends (UDP_SEGMENT) where the kernel has it; default true. */
  gso?: boolean;
  /** Let the kernel hand over runs of datagrams as one (UDP_GRO; cut apart here) where it has it; default true. */
  gro?: boolean;
  /** How long a blocked receive waits before it is re-issued (SO_RCVTIMEO); default {@link RECEIVE_TIMEOUT_MS}. */
  receiveTimeoutMs?: number;
}

/** Datagrams one recvmmsg call may return. */
export const RECEIVE_BATCH = 64;
/** Room per received datagram: any UDP payload fits (IPv6's largest is 65527), so none is cut. */
const RECEIVE_SLOT_BYTES = 65536;
/** Datagrams per sendmmsg call (the kernel's UIO_MAXIOV); a full batch is sent at once. */
const SEND_BATCH = 1024;
/** Payload bytes per send batch; a full batch is sent at once. */
const SEND_BATCH_BYTES = 1 << 20;
/** Longest a blocked receive outlives close() should the shutdown not wake it. */
export const RECEIVE_TIMEOUT_MS = 500;
/** Parsed destinations remembered; at the bound the cache is emptied (then refills). */
const ADDR_CACHE_SIZE = 1024;
/**
 * Receives made on the JS thread in a row, each when the previous batch has
 * been read, before one goes through the thread pool: while datagrams keep
 * coming, the readers' await chain would otherwise never let the event loop
 * run timers (KCP's flush) and other I/O.
 */
const MAX_RECEIVES_PER_TURN = 4;
/** errno values by which the kernel refuses a segmented (UDP_SEGMENT) send: no checksum offload, IPsec, and the like. */
const GSO_REFUSALS = new Set([EIO, EINVAL, EOPNOTSUPP]);
/** errno values after which receiving goes on (a timeout, a signal, a passing shortage). */
const TRANSIENT_RECEIVE_ERRORS = new Set([EAGAIN, EINTR, ENOMEM]);

/** Opens a UDP socket as a PacketConn; rejects if it cannot bind. */
export function listenUdp(options: UdpOptions = {}): Promise<UdpPacketConn> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  try {
    const lib = libc();
    const socket = openUdpSocket(lib, {
      hostname,
      port,
      receiveBufferBytes: options.receiveBufferBytes ?? 8 << 20,
      sendBufferBytes: options.sendBufferBytes ?? 4 << 20,
      receiveTimeoutMs: options.receiveTimeoutMs ?? RECEIVE_TIMEOUT_MS,
      gso: options.gso ?? true,
      gro: options.gro ?? true,
    });
    return Promise.resolve(new UdpPacketConn(lib, socket));
  } catch (error) {
    const where = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    return Promise.reject(new Error(`UDP listen on ${where} failed: ${errorMessage(error)}`));
  }
}

export class UdpPacketConn implements PacketConn {
  /** Where the socket is bound, "ip:port". */
  readonly localAddr: string;
  /** The kernel's receive and send buffer sizes (what it accounts, about twice the payload they hold). */
  readonly receiveBufferBytes: number;
  readonly sendBufferBytes: number;
  /** Resolves once the socket is closed and its descriptor released. */
  readonly closed: Promise<void>;
  /** writeTo copies the datagram into the send batch before it returns: the caller may reuse its buffer (lib/kcp/packet_conn_extensions.ts). */
  readonly copiesOnWrite = true;
  readonly #lib: Libc;
  readonly #family: number;
  #fd: number;
  readonly #receive = new ReceiveVector(RECEIVE_BATCH, RECEIVE_SLOT_BYTES);
  /** Datagrams of the latest receive not yet read (at most one batch: ≤ RECEIVE_BATCH × 64 KiB); refilled only when empty. */
  #ready: Packet[] = [];
  #readyHead = 0;
  /** readFrom calls waiting for the blocking receive. */
  #readers: ((packet: Packet | null) => void)[] = [];
  /** A blocking receive is on the FFI thread pool (at most one: a second could reorder datagrams). */
  #receiving = false;
  /** Receives made on this thread since the last blocking one (see MAX_RECEIVES_PER_TURN). */
  #receivesThisTurn = 0;
  readonly #send = new SendVector(SEND_BATCH, SEND_BATCH_BYTES);
  #flushQueued = false;
  #destinations = new Map<string, Uint8Array | null>();
  /** The latest source address, raw and as text: most datagrams come from the same peer. */
  readonly #lastSource = new Uint8Array(SOCKADDR_IN6_SIZE);
  #lastSourceLength = 0;
  #lastSourceAddr = "";
  #isClosed = false;
  #droppedHere = 0;
  #receiveTimeouts = 0;
  #kernelDropsAtClose = 0;
  #error: Error | null = null;
  #resolveClosed!: () => void;

  /** Use {@link listenUdp}. */
  constructor(lib: Libc, socket: UdpSocket) {
    this.#lib = lib;
    this.#fd = socket.fd;
    this.#family = socket.family;
    this.localAddr = socket.localAddr;
    this.receiveBufferBytes = socket.receiveBufferBytes;
    this.sendBufferBytes = socket.sendBufferBytes;
    this.#send.gso = socket.gso;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Whether datagrams for one peer still leave merged into segmented sends (UDP_SEGMENT; off once the kernel refused one). */
  get gso(): boolean {
    return this.#send.gso;
  }

  /**
   * Datagrams dropped so far: by the kernel (receive buffer full) and on
   * sending (refused, unreachable). With UDP_GRO the kernel counts a run it
   * dropped whole (one coalesced message) as one.
   */
  get dropped(): number {
    return this.#droppedHere + (this.#fd >= 0 ? kernelDrops(this.#lib, this.#fd) : this.#kernelDropsAtClose);
  }

  /** Why receiving stopped, when a receive failed for good (the conn is closed then); null otherwise. */
  /** Blocked receives that timed out with nothing (and were re-issued while readers wait). */
  get receiveTimeouts(): number {
    return this.#receiveTimeouts;
  }

  get error(): Error | null {
    return this.#error;
  }

  readFrom(): Promise<Packet | null> {
    if (this.#readyHead < this.#ready.length) return Promise.resolve(this.#nextReady());
    if (this.#isClosed) return Promise.resolve(null);
    if (!this.#receiving && this.#receivesThisTurn < MAX_RECEIVES_PER_TURN) {
      this.#receivesThisTurn++;
      if (this.#receiveNow()) return Promise.resolve(this.#nextReady());
      if (this.#isClosed) return Promise.resolve(null); // the receive failed for good
    }
    const reader = new Promise<Packet | null>((resolve) => this.#readers.push(resolve));
    if (!this.#receiving) this.#receiveBlocking();
    return reader;
  }

  /**
   * Every datagram of the latest receive not yet read, oldest first (at least
   * one; waits while none); null once closed. For readers that handle a batch
   * at a time (KCP: one flush and one delivery per batch): one promise per
   * receive instead of one per datagram (lib/kcp/packet_conn_extensions.ts).
   */
  async readBatch(): Promise<Packet[] | null> {
    const first = await this.readFrom();
    if (first === null) return null;
    const rest = this.#ready;
    const head = this.#readyHead;
    this.#ready = [];
    this.#readyHead = 0;
    if (head >= rest.length) return [first];
    const batch = head === 0 ? rest : rest.slice(head);
    batch.unshift(first);
    return batch;
  }

  writeTo(packet: Uint8Array, addr: string): void {
    if (this.#isClosed) throw new ConnClosedError("UDP socket");
    let destination = this.#destinations.get(addr);
    if (destination === undefined) {
      destination = encodeSockaddr(addr, this.#family); // a malformed address is the caller's bug: throws
      if (this.#destinations.size >= ADDR_CACHE_SIZE) this.#destinations.clear();
      this.#destinations.set(addr, destination);
    }
    if (destination === null) {
      this.#droppedHere++; // IPv6 from an IPv4 socket: unreachable, as the kernel's EAFNOSUPPORT
      return;
    }
    if (!this.#send.add(packet, destination)) {
      this.#flushSends();
      if (!this.#send.add(packet, destination)) {
        this.#droppedHere++; // larger than a batch, so larger than any datagram (EMSGSIZE)
        return;
      }
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushSends);
    }
  }

  /**
   * Sends what was written so far, ends every readFrom (unread datagrams are
   * dropped, as a closed socket's are) and releases the socket: at once, or
   * once a blocked receive has returned (see `closed`). Idempotent.
   */
  close(): void {
    if (this.#isClosed) return;
    this.#flushSends(); // what was written before close goes out, as Go's synchronous writes would have
    this.#isClosed = true;
    this.#ready = [];
    this.#readyHead = 0;
    for (const reader of this.#readers.splice(0)) reader(null);
    if (this.#receiving) {
      // On an unconnected socket this fails with ENOTCONN, yet still wakes a blocked receive (Linux).
      this.#lib.shutdown(this.#fd, SHUT_RDWR);
    } else {
      this.#release();
    }
  }

  #flushSends = (): void => {
    this.#flushQueued = false;
    const batch = this.#send;
    if (batch.length === 0) return;
    if (this.#isClosed) {
      batch.clear();
      return;
    }
    let waiting: [number, number, Uint8Array][] = [];
    for (;;) {
      waiting = this.#sendBatch(waiting);
      batch.clear();
      if (waiting.length === 0) return;
      // the kernel refused segmentation: the datagrams cut out of the refused messages that did not fit go now
      for (const [offset, length, destination] of waiting.splice(0, batch.count)) {
        batch.addCopied(offset, length, destination);
      }
    }
  };

  /**
   * One pass of sendmmsg over the batch (MSG_DONTWAIT). Returns datagrams that
   * still wait: those {@link SendVector.split} could not fit back in when the
   * kernel refused a segmented message (GSO off from then on).
   */
  #sendBatch(waiting: [number, number, Uint8Array][]): [number, number, Uint8Array][] {
    const batch = this.#send;
    let count = batch.length;
    for (let sent = 0; sent < count;) {
      const n = this.#lib.sendmmsg(this.#fd, batch.headersFrom(sent), count - sent, MSG_DONTWAIT);
      if (n > 0) {
        sent += n;
        continue;
      }
      // message `sent` was refused
      const code = errno(this.#lib);
      if (batch.segmentsOf(sent) > 1 && GSO_REFUSALS.has(code)) {
        waiting = batch.split(sent).concat(waiting); // resend as single datagrams
        count = batch.length;
        continue;
      }
      if (code === EAGAIN || code === ENOBUFS) {
        // the send buffer is full: drop the rest of the batch
        for (let i = sent; i < count; i++) this.#droppedHere += batch.segmentsOf(i);
        this.#droppedHere += waiting.length;
        return [];
      }
      this.#droppedHere += batch.segmentsOf(sent); // e.g. EMSGSIZE: lost, like any UDP datagram
      sent++;
    }
    return waiting;
  }

  /** Takes what the socket holds without waiting; true if that was anything. Closes the conn if receiving failed for good. */
  #receiveNow(): boolean {
    const batch = this.#receive;
    const n = this.#lib.recvmmsg(this.#fd, batch.headers, batch.count, MSG_DONTWAIT, null);
    if (n > 0) {
      this.#fill(n);
      return true;
    }
    const code = errno(this.#lib);
    if (n < 0 && !TRANSIENT_RECEIVE_ERRORS.has(code)) {
      this.#error = new Error(describeErrno(this.#lib, code, "UDP receive failed"));
      this.close();
    }
    return false;
  }

  /** Waits for datagrams on the FFI thread pool, for the readers waiting; again while they wait. */
  async #receiveBlocking(): Promise<void> {
    this.#receiving = true;
    const batch = this.#receive;
    while (this.#readers.length > 0) {
      const n = await this.#lib.recvmmsgBlocking(this.#fd, batch.headers, batch.count, MSG_WAITFORONE, null);
      this.#receivesThisTurn = 0; // the event loop has turned
      if (this.#isClosed) break;
      // errno stayed on the pool thread: on a failure (a timeout, most often) ask again here to learn it
      if (n > 0) this.#fill(n);
      else if (!this.#receiveNow()) {
        this.#receiveTimeouts++;
        continue;
      }
      while (this.#readers.length > 0 && this.#readyHead < this.#ready.length) {
        this.#readers.shift()!(this.#nextReady());
      }
    }
    this.#receiving = false;
    if (this.#isClosed) this.#release();
  }

  #nextReady(): Packet {
    const packet = this.#ready[this.#readyHead];
    this.#ready[this.#readyHead++] = undefined!; // let it go with its reader
    return packet;
  }

  /**
   * Makes the datagrams of the `n` messages of the last receive ready, copied
   * out of the batch's slots (one buffer for them all); a message the kernel
   * coalesced (UDP_GRO) is cut back into its datagrams.
   */
  #fill(n: number): void {
    const batch = this.#receive;
    let total = 0;
    for (let i = 0; i < n; i++) total += batch.length(i);
    const bytes = new Uint8Array(total);
    const ready: Packet[] = [];
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const length = batch.length(i);
      bytes.set(batch.payload(i, length), offset);
      const addr = this.#sourceAddr(batch.source(i));
      const size = batch.segmentSize(i);
      const end = offset + length;
      if (size > 0) {
        for (; offset + size < end; offset += size) {
          ready.push({ packet: bytes.subarray(offset, offset + size), addr });
        }
      }
      ready.push({ packet: bytes.subarray(offset, end), addr });
      offset = end;
    }
    batch.resetNames(n);
    this.#ready = ready;
    this.#readyHead = 0;
  }

  #sourceAddr(name: Uint8Array): string {
    const last = this.#lastSource;
    if (name.length === this.#lastSourceLength) {
      let i = 0;
      while (i < name.length && name[i] === last[i]) i++;
      if (i === name.length) return this.#lastSourceAddr;
    }
    last.set(name);
    this.#lastSourceLength = name.length;
    this.#lastSourceAddr = decodeSockaddr(name);
    return this.#lastSourceAddr;
  }

  #release(): void {
    if (this.#fd < 0) return;
    this.#kernelDropsAtClose = kernelDrops(this.#lib, this.#fd);
    this.#lib.close(this.#fd);
    this.#fd = -1;
    this.#resolveClosed();
  }
}
