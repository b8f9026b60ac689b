/**
 * Preallocated `struct mmsghdr` arrays for recvmmsg/sendmmsg (lib/net/udp.ts):
 * headers, one iovec per message, socket-address slots, control messages (send:
 * UDP_SEGMENT; receive: UDP_GRO) and the payload bytes,
 * each in its own ArrayBuffer (backing stores outside the JS heap, which do not
 * move), with the pointers between them written once.
 *
 * Layouts are LP64 Linux's (x86_64, aarch64):
 *   struct mmsghdr { struct msghdr msg_hdr; unsigned msg_len; }     64 bytes
 *   struct msghdr  { void *msg_name; socklen_t msg_namelen; struct iovec *msg_iov;
 *                    size_t msg_iovlen; void *msg_control; size_t msg_controllen;
 *                    int msg_flags; }                                 56 bytes
 *   struct iovec   { void *iov_base; size_t iov_len; }                16 bytes
 */

import { SOL_UDP, UDP_GRO, UDP_SEGMENT } from "./udp_libc.ts";
import { SOCKADDR_IN6_SIZE } from "./udp_sockaddr.ts";

const MMSGHDR_SIZE = 64;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_LEN = 56;
const IOVEC_SIZE = 16;
const IOV_BASE = 0;
const IOV_LEN = 8;
// struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the data, 8-aligned
const CMSG_LEN = 0;
const CMSG_LEVEL = 8;
const CMSG_TYPE = 12;
const CMSG_DATA = 16;
/** CMSG_LEN(sizeof(u16)) and CMSG_SPACE(sizeof(u16)): a UDP_SEGMENT control message. */
const CMSG_LEN_U16 = 18;
const CMSG_SPACE_U16 = 24;
/** CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)): a UDP_GRO control message. */
const CMSG_LEN_I32 = 20;
const CMSG_SPACE_I32 = 24;
/** Datagrams one segmented message may carry (the kernel's UDP_MAX_SEGMENTS on older kernels). */
const GSO_MAX_SEGMENTS = 64;
/** Payload bytes one segmented message may carry: one IPv4 datagram's worth (65535 − 20 − 8). */
const GSO_MAX_BYTES = 65507;
/** Room per socket address: sockaddr_in6 (28 bytes) rounded up to 8. */
const NAME_STRIDE = 32;

/** `count` headers, iovecs and address slots, linked: header i names slot i and iovec i. */
class MessageVector {
  readonly count: number;
  /** The first header, for the syscall. */
  readonly headers: Deno.PointerObject;
  protected readonly headerView: DataView;
  protected readonly iovecView: DataView;
  protected readonly names: Uint8Array;
  readonly #namesAddress: number;

  constructor(count: number) {
    this.count = count;
    const headerBuffer = new ArrayBuffer(count * MMSGHDR_SIZE);
    const iovecBuffer = new ArrayBuffer(count * IOVEC_SIZE);
    const nameBuffer = new ArrayBuffer(count * NAME_STRIDE);
    this.headers = Deno.UnsafePointer.of(headerBuffer)!;
    this.headerView = new DataView(headerBuffer);
    this.iovecView = new DataView(iovecBuffer);
    this.names = new Uint8Array(nameBuffer);
    this.#namesAddress = addressOf(nameBuffer);
    const iovecsAddress = addressOf(iovecBuffer);
    for (let i = 0; i < count; i++) {
      const header = i * MMSGHDR_SIZE;
      writePointer(this.headerView, header + MSG_NAME, this.#namesAddress + i * NAME_STRIDE);
      this.headerView.setUint32(header + MSG_NAMELEN, SOCKADDR_IN6_SIZE, true);
      writePointer(this.headerView, header + MSG_IOV, iovecsAddress + i * IOVEC_SIZE);
      writePointer(this.headerView, header + MSG_IOVLEN, 1);
      // msg_control, msg_controllen, msg_flags stay 0
    }
  }

  /** Header `i` onwards, for a syscall that resumes part-way. */
  headersFrom(i: number): Deno.PointerObject {
    return i === 0 ? this.headers : Deno.UnsafePointer.offset(this.headers, i * MMSGHDR_SIZE)!;
  }
}

/**
 * `count` receive slots of `slotSize` bytes each, each with room for one
 * control message: with UDP_GRO on the socket, the kernel may hand over a run
 * of datagrams from one source as one message, and its UDP_GRO control message
 * says where to cut it ({@link segmentSize}).
 */
export class ReceiveVector extends MessageVector {
  readonly slotSize: number;
  readonly #data: Uint8Array;
  readonly #control: DataView;

  constructor(count: number, slotSize: number) {
    super(count);
    this.slotSize = slotSize;
    // Untouched pages of a large ArrayBuffer are not resident: small datagrams
    // cost a page or so per slot, however large the slots.
    const dataBuffer = new ArrayBuffer(count * slotSize);
    this.#data = new Uint8Array(dataBuffer);
    const dataAddress = addressOf(dataBuffer);
    const controlBuffer = new ArrayBuffer(count * CMSG_SPACE_I32);
    this.#control = new DataView(controlBuffer);
    const controlAddress = addressOf(controlBuffer);
    for (let i = 0; i < count; i++) {
      writePointer(this.iovecView, i * IOVEC_SIZE + IOV_BASE, dataAddress + i * slotSize);
      writePointer(this.iovecView, i * IOVEC_SIZE + IOV_LEN, slotSize);
      writePointer(this.headerView, i * MMSGHDR_SIZE + MSG_CONTROL, controlAddress + i * CMSG_SPACE_I32);
      writePointer(this.headerView, i * MMSGHDR_SIZE + MSG_CONTROLLEN, CMSG_SPACE_I32);
    }
  }

  /** Makes the first `n` address and control slots whole again (the kernel shrinks their lengths to what it wrote). */
  resetNames(n: number): void {
    for (let i = 0; i < n; i++) {
      this.headerView.setUint32(i * MMSGHDR_SIZE + MSG_NAMELEN, SOCKADDR_IN6_SIZE, true);
      writePointer(this.headerView, i * MMSGHDR_SIZE + MSG_CONTROLLEN, CMSG_SPACE_I32);
    }
  }

  /**
   * The datagram size message `i` of the last call is cut into (the last one
   * may be shorter), from its UDP_GRO control message; 0 when it is one datagram.
   */
  segmentSize(i: number): number {
    // the kernel writes back how much control data it put there (a size_t; our slots are far below 2^32)
    if (this.headerView.getUint32(i * MMSGHDR_SIZE + MSG_CONTROLLEN, true) < CMSG_LEN_I32) return 0;
    const cmsg = i * CMSG_SPACE_I32;
    const control = this.#control;
    if (
      control.getInt32(cmsg + CMSG_LEVEL, true) !== SOL_UDP ||
      control.getInt32(cmsg + CMSG_TYPE, true) !== UDP_GRO
    ) {
      return 0;
    }
    return control.getInt32(cmsg + CMSG_DATA, true);
  }

  /** Payload bytes of message `i` of the last call (msg_len). */
  length(i: number): number {
    return this.headerView.getUint32(i * MMSGHDR_SIZE + MSG_LEN, true);
  }

  /** Payload of message `i`: a view into the slot, valid until the next call. */
  payload(i: number, length: number): Uint8Array {
    return this.#data.subarray(i * this.slotSize, i * this.slotSize + length);
  }

  /** Source address of message `i`: a view into its slot, valid until the next call. */
  source(i: number): Uint8Array {
    const length = this.headerView.getUint32(i * MMSGHDR_SIZE + MSG_NAMELEN, true);
    return this.names.subarray(i * NAME_STRIDE, i * NAME_STRIDE + Math.min(length, SOCKADDR_IN6_SIZE));
  }
}

/**
 * Up to `count` outgoing messages packed into `capacityBytes` of payload space.
 * With {@link gso} on, a datagram for the same destination as the message
 * before it joins that message when the message's datagrams so far are all as
 * long as its first and this one is no longer (UDP_SEGMENT, Linux ≥ 4.18): the
 * kernel cuts the message back into those datagrams, so the wire carries the
 * same datagrams as without, at a fraction of the per-datagram cost. Such a
 * message carries a control message naming the segment size.
 */
export class SendVector extends MessageVector {
  /** Merge datagrams into segmented messages (see the class doc); off when the kernel refused it. */
  gso = false;
  readonly #data: Uint8Array;
  readonly #dataAddress: number;
  readonly #control: DataView;
  readonly #controlAddress: number;
  #length = 0;
  #bytes = 0;
  /** Of each message: payload offset, segment size (its first datagram's length), datagrams, destination. */
  readonly #offsets: number[] = [];
  readonly #segmentSizes: number[] = [];
  readonly #segments: number[] = [];
  readonly #destinations: Uint8Array[] = [];
  /** The last message may take more datagrams (its datagrams so far are all of its segment size). */
  #open = false;

  constructor(count: number, capacityBytes: number) {
    super(count);
    const dataBuffer = new ArrayBuffer(capacityBytes);
    this.#data = new Uint8Array(dataBuffer);
    this.#dataAddress = addressOf(dataBuffer);
    const controlBuffer = new ArrayBuffer(count * CMSG_SPACE_U16);
    this.#control = new DataView(controlBuffer);
    this.#controlAddress = addressOf(controlBuffer);
    for (let i = 0; i < count; i++) {
      const cmsg = i * CMSG_SPACE_U16;
      writePointer(this.#control, cmsg + CMSG_LEN, CMSG_LEN_U16);
      this.#control.setInt32(cmsg + CMSG_LEVEL, SOL_UDP, true);
      this.#control.setInt32(cmsg + CMSG_TYPE, UDP_SEGMENT, true);
    }
  }

  /** Messages added since the last {@link clear}. */
  get length(): number {
    return this.#length;
  }

  /** Copies `payload` in, bound for the sockaddr `destination`; false (nothing added) when it does not fit. */
  add(payload: Uint8Array, destination: Uint8Array): boolean {
    const length = payload.length;
    if (this.#bytes + length > this.#data.length) return false;
    const last = this.#length - 1;
    if (
      this.#open && this.#destinations[last] === destination && length <= this.#segmentSizes[last] &&
      this.#segments[last] < GSO_MAX_SEGMENTS && this.#bytes - this.#offsets[last] + length <= GSO_MAX_BYTES
    ) {
      this.#data.set(payload, this.#bytes);
      this.#bytes += length;
      const segments = ++this.#segments[last];
      const header = last * MMSGHDR_SIZE;
      writePointer(this.iovecView, last * IOVEC_SIZE + IOV_LEN, this.#bytes - this.#offsets[last]);
      if (segments === 2) {
        this.#control.setUint16(last * CMSG_SPACE_U16 + CMSG_DATA, this.#segmentSizes[last], true);
        writePointer(this.headerView, header + MSG_CONTROL, this.#controlAddress + last * CMSG_SPACE_U16);
        writePointer(this.headerView, header + MSG_CONTROLLEN, CMSG_SPACE_U16);
      }
      this.#open = length === this.#segmentSizes[last];
      return true;
    }
    if (this.#length === this.count) return false;
    this.#data.set(payload, this.#bytes);
    this.#push(this.#bytes, length, destination);
    this.#bytes += length;
    return true;
  }

  /** Datagrams in message `i` (more than one: a segmented message). */
  segmentsOf(i: number): number {
    return this.#segments[i];
  }

  /**
   * Turns {@link gso} off and cuts messages `from` onwards back into single
   * datagrams (their bytes stay where they are), for a kernel that refused a
   * segmented message. Returns the datagrams that did not fit and must wait:
   * [offset, length, destination] each, for {@link addCopied} after a send.
   */
  split(from: number): [number, number, Uint8Array][] {
    this.gso = false;
    const datagrams: [number, number, Uint8Array][] = [];
    for (let i = from; i < this.#length; i++) {
      const size = this.#segmentSizes[i];
      const end = i + 1 < this.#length ? this.#offsets[i + 1] : this.#bytes;
      for (let offset = this.#offsets[i]; offset < end; offset += size) {
        datagrams.push([offset, Math.min(size, end - offset), this.#destinations[i]]);
      }
    }
    this.#length = from;
    this.#open = false;
    while (datagrams.length > 0 && this.#length < this.count) {
      const [offset, length, destination] = datagrams.shift()!;
      this.#push(offset, length, destination);
    }
    return datagrams;
  }

  /** Adds a datagram whose bytes are already at `offset` of this vector's payload space (see {@link split}). */
  addCopied(offset: number, length: number, destination: Uint8Array): void {
    this.#push(offset, length, destination);
  }

  clear(): void {
    this.#length = 0;
    this.#bytes = 0;
    this.#open = false;
  }

  /** Makes message #length a single datagram of the `length` bytes at `offset`. */
  #push(offset: number, length: number, destination: Uint8Array): void {
    const i = this.#length++;
    writePointer(this.iovecView, i * IOVEC_SIZE + IOV_BASE, this.#dataAddress + offset);
    writePointer(this.iovecView, i * IOVEC_SIZE + IOV_LEN, length);
    if (this.#segments[i] > 1) {
      writePointer(this.headerView, i * MMSGHDR_SIZE + MSG_CONTROL, 0);
      writePointer(this.headerView, i * MMSGHDR_SIZE + MSG_CONTROLLEN, 0);
    }
    this.names.set(destination, i * NAME_STRIDE);
    this.headerView.setUint32(i * MMSGHDR_SIZE + MSG_NAMELEN, destination.length, true);
    this.#offsets[i] = offset;
    this.#segmentSizes[i] = length;
    this.#segments[i] = 1;
    this.#destinations[i] = destination;
    this.#open = this.gso;
  }
}

function addressOf(buffer: ArrayBuffer): number {
  return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/** A 64-bit pointer or size; user-space addresses stay below 2^53, so a number holds them exactly. */
function writePointer(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 0x1_0000_0000, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}
