/**
 * The few libc calls lib/net/udp.ts makes through Deno FFI (`Deno.dlopen`,
 * which needs --allow-ffi), and the Linux constants they take. Deno's own UDP
 * socket cannot size its kernel buffers and receives one datagram per call;
 * these give us SO_RCVBUF/SO_SNDBUF and recvmmsg/sendmmsg.
 *
 * Linux on a 64-bit CPU only (the struct layouts in udp_mmsg.ts are LP64
 * Linux's); elsewhere {@link libc} throws a clear error.
 *
 * libc is opened once per process, on first use, and stays open: it is never
 * unloaded anyway, and reopening it per socket would only cost time.
 *
 * `recvmmsg` is declared twice: `recvmmsgBlocking` is nonblocking in Deno's
 * sense (it runs on Deno's FFI thread pool and returns a Promise), so it may
 * block in the kernel while the JS thread runs; errno is per thread, so after a
 * failure there the caller repeats the call synchronously (`recvmmsg`, with
 * MSG_DONTWAIT) to learn why.
 */

import { errorMessage } from "../../../lib/util/errors.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "pointer", "u32", "i32", "pointer"], result: "i32" },
  recvmmsgBlocking: {
    name: "recvmmsg",
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

// <sys/socket.h>, <netinet/in.h>, <asm-generic/socket.h>, <asm-generic/errno*.h> on Linux
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_DGRAM = 2;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_RCVTIMEO = 20;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_MEMINFO = 55;
/** Index of the socket's drop counter (sk_drops) in SO_MEMINFO's u32 array of SK_MEMINFO_VARS (9). */
export const SK_MEMINFO_DROPS = 8;
export const SK_MEMINFO_VARS = 9;
export const SHUT_RDWR = 2;
/** <netinet/udp.h>: UDP-level options; UDP_SEGMENT (GSO, Linux 4.18) and UDP_GRO (Linux 5.0). */
export const SOL_UDP = 17;
export const UDP_SEGMENT = 103;
export const UDP_GRO = 104;
export const MSG_DONTWAIT = 0x40;
export const MSG_WAITFORONE = 0x10000;
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EINVAL = 22;
export const ENOBUFS = 105;
export const EOPNOTSUPP = 95;

let opened: Libc | undefined;

/** libc's functions; throws an Error saying why when they cannot be had here. */
export function libc(): Libc {
  if (opened) return opened;
  if (Deno.build.os !== "linux" || !["x86_64", "aarch64"].includes(Deno.build.arch)) {
    throw new Error(
      `UDP sockets need Linux on x86_64 or aarch64 (this is ${Deno.build.os} ${Deno.build.arch})`,
    );
  }
  try {
    opened = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (error) {
    throw new Error(`UDP sockets need libc through FFI (--allow-ffi): ${errorMessage(error)}`);
  }
  return opened;
}

/** errno of this thread's latest failed libc call (read it straight after the call). */
export function errno(lib: Libc): number {
  return new Deno.UnsafePointerView(lib.__errno_location()!).getInt32();
}

/** "what: strerror(errno) (errno N)". */
export function describeErrno(lib: Libc, code: number, what: string): string {
  const text = lib.strerror(code);
  return `${what}: ${text ? new Deno.UnsafePointerView(text).getCString() : "unknown error"} (errno ${code})`;
}
