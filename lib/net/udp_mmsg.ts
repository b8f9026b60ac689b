/**
 * Preallocated `struct mmsghdr` arrays for recvmmsg/sendmmsg (lib/net/udp.ts):
 * headers, one iovec per message, socket-address slots and the payload bytes,
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

import { SOCKADDR_IN6_SIZE } from "./udp_sockaddr.ts";

const MMSGHDR_SIZE = 64;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_LEN = 56;
const IOVEC_SIZE = 16;
const IOV_BASE = 0;
const IOV_LEN = 8;
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

/** `count` receive slots of `slotSize` bytes each. */
export class ReceiveVector extends MessageVector {
  readonly slotSize: number;
  readonly #data: Uint8Array;

  constructor(count: number, slotSize: number) {
    super(count);
    this.slotSize = slotSize;
    // Untouched pages of a large ArrayBuffer are not resident: small datagrams
    // cost a page or so per slot, however large the slots.
    const dataBuffer = new ArrayBuffer(count * slotSize);
    this.#data = new Uint8Array(dataBuffer);
    const dataAddress = addressOf(dataBuffer);
    for (let i = 0; i < count; i++) {
      writePointer(this.iovecView, i * IOVEC_SIZE + IOV_BASE, dataAddress + i * slotSize);
      writePointer(this.iovecView, i * IOVEC_SIZE + IOV_LEN, slotSize);
    }
  }

  /** Makes the first `n` address slots whole again (the kernel shrinks msg_namelen to what it wrote). */
  resetNames(n: number): void {
    for (let i = 0; i < n; i++) {
      this.headerView.setUint32(i * MMSGHDR_SIZE + MSG_NAMELEN, SOCKADDR_IN6_SIZE, true);
    }
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

/** Up to `count` outgoing datagrams packed into `capacityBytes` of payload space. */
export class SendVector extends MessageVector {
  readonly #data: Uint8Array;
  readonly #dataAddress: number;
  #length = 0;
  #bytes = 0;

  constructor(count: number, capacityBytes: number) {
    super(count);
    const dataBuffer = new ArrayBuffer(capacityBytes);
    this.#data = new Uint8Array(dataBuffer);
    this.#dataAddress = addressOf(dataBuffer);
  }

  /** Datagrams added since the last {@link clear}. */
  get length(): number {
    return this.#length;
  }

  /** Copies `payload` in, bound for the sockaddr `destination`; false (nothing added) when it does not fit. */
  add(payload: Uint8Array, destination: Uint8Array): boolean {
    if (this.#length === this.count || this.#bytes + payload.length > this.#data.length) return false;
    const i = this.#length++;
    this.#data.set(payload, this.#bytes);
    writePointer(this.iovecView, i * IOVEC_SIZE + IOV_BASE, this.#dataAddress + this.#bytes);
    writePointer(this.iovecView, i * IOVEC_SIZE + IOV_LEN, payload.length);
    this.#bytes += payload.length;
    this.names.set(destination, i * NAME_STRIDE);
    this.headerView.setUint32(i * MMSGHDR_SIZE + MSG_NAMELEN, destination.length, true);
    return true;
  }

  clear(): void {
    this.#length = 0;
    this.#bytes = 0;
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
