/**
 * Opening the kernel UDP socket behind lib/net/udp.ts: socket, buffer sizes,
 * receive timeout, bind, getsockname, whether UDP_SEGMENT is there, UDP_GRO on; and reading the kernel's per-socket drop
 * counter. All through libc (udp_libc.ts), synchronously.
 *
 * Buffer sizes: SO_RCVBUFFORCE/SO_SNDBUFFORCE first (they pass net.core.rmem_max
 * and wmem_max, but need CAP_NET_ADMIN), else SO_RCVBUF/SO_SNDBUF, which the
 * kernel caps at those sysctls without failing. The kernel doubles what it is
 * given (bookkeeping overhead); the sizes reported are the kernel's.
 */

import {
  AF_INET,
  AF_INET6,
  describeErrno,
  errno,
  type Libc,
  SK_MEMINFO_DROPS,
  SK_MEMINFO_VARS,
  SO_MEMINFO,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOL_SOCKET,
  SOL_UDP,
  UDP_GRO,
  UDP_SEGMENT,
} from "./udp_libc.ts";
import { decodeSockaddr, encodeSockaddr, SOCKADDR_IN6_SIZE } from "./udp_sockaddr.ts";

export interface UdpSocketOptions {
  hostname: string;
  port: number;
  receiveBufferBytes: number;
  sendBufferBytes: number;
  /** How long one blocking receive may wait before returning empty-handed (SO_RCVTIMEO). */
  receiveTimeoutMs: number;
  /** Use UDP_SEGMENT when the kernel has it. */
  gso: boolean;
  /** Turn UDP_GRO on when the kernel has it. */
  gro: boolean;
}

export interface UdpSocket {
  fd: number;
  family: number;
  localAddr: string;
  /** The kernel's SO_RCVBUF and SO_SNDBUF after setting them. */
  receiveBufferBytes: number;
  sendBufferBytes: number;
  /** Segmented sends (UDP_SEGMENT) asked for and known to the kernel (getsockopt answers). */
  gso: boolean;
  /** UDP_GRO asked for and turned on: received messages may be runs of datagrams (udp_mmsg.ts). */
  gro: boolean;
}

/** Opens and binds the socket; throws an Error naming the failed call and errno. */
export function openUdpSocket(lib: Libc, options: UdpSocketOptions): UdpSocket {
  const family = options.hostname.includes(":") ? AF_INET6 : AF_INET;
  const bracketed = family === AF_INET6 ? `[${options.hostname}]` : options.hostname;
  const address = encodeSockaddr(`${bracketed}:${options.port}`, family)!;
  const fd = lib.socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(describeErrno(lib, errno(lib), "socket"));
  try {
    const receiveBufferBytes = setBufferSize(lib, fd, SO_RCVBUFFORCE, SO_RCVBUF, options.receiveBufferBytes);
    const sendBufferBytes = setBufferSize(lib, fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBufferBytes);
    const timeout = new BigInt64Array([
      BigInt(Math.floor(options.receiveTimeoutMs / 1000)), // struct timeval: tv_sec, tv_usec
      BigInt((options.receiveTimeoutMs % 1000) * 1000),
    ]);
    check(lib, lib.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.byteLength), "SO_RCVTIMEO");
    check(lib, lib.bind(fd, address, address.length), "bind");
    const bound = new Uint8Array(SOCKADDR_IN6_SIZE);
    const boundLength = new Uint32Array([bound.length]);
    check(lib, lib.getsockname(fd, bound, boundLength), "getsockname");
    const localAddr = decodeSockaddr(bound.subarray(0, boundLength[0]));
    const gso = options.gso && hasUdpOption(lib, fd, UDP_SEGMENT);
    const gro = options.gro && lib.setsockopt(fd, SOL_UDP, UDP_GRO, new Int32Array([1]), 4) === 0;
    return { fd, family, localAddr, receiveBufferBytes, sendBufferBytes, gso, gro };
  } catch (error) {
    lib.close(fd);
    throw error;
  }
}

/** Datagrams the kernel dropped for this socket (sk_drops: receive buffer full, and the like). */
export function kernelDrops(lib: Libc, fd: number): number {
  const info = new Uint32Array(SK_MEMINFO_VARS);
  const length = new Uint32Array([info.byteLength]);
  return lib.getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, length) === 0 ? info[SK_MEMINFO_DROPS] : 0;
}

/** Whether the kernel knows the UDP-level option (getsockopt succeeds; ENOPROTOOPT otherwise). */
function hasUdpOption(lib: Libc, fd: number, option: number): boolean {
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  return lib.getsockopt(fd, SOL_UDP, option, value, length) === 0;
}

function setBufferSize(lib: Libc, fd: number, force: number, plain: number, bytes: number): number {
  const value = new Int32Array([bytes]);
  if (lib.setsockopt(fd, SOL_SOCKET, force, value, 4) !== 0) {
    check(
      lib,
      lib.setsockopt(fd, SOL_SOCKET, plain, value, 4),
      plain === SO_RCVBUF ? "SO_RCVBUF" : "SO_SNDBUF",
    );
  }
  const length = new Uint32Array([4]);
  check(lib, lib.getsockopt(fd, SOL_SOCKET, plain, value, length), "getsockopt");
  return value[0];
}

function check(lib: Libc, result: number, what: string): void {
  if (result !== 0) throw new Error(describeErrno(lib, errno(lib), what));
}
