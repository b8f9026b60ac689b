/**
 * Turbo Tunnel constants shared by client and server (SNOWFLAKE-PROTOCOL.md
 * §3.1, §3.5; Go's common/turbotunnel/consts.go).
 */

import { bytesEqual } from "../util/bytes.ts";

/** Bytes of the token. */
export const TOKEN_LENGTH = 8;

/**
 * The magic token a client sends first on every carrier to opt in to Turbo
 * Tunnel (§3.1, §3.3): `12 93 60 5d 27 81 75 f5`. Treat as read-only.
 */
export const TOKEN: Uint8Array = new Uint8Array([0x12, 0x93, 0x60, 0x5d, 0x27, 0x81, 0x75, 0xf5]);

/** Whether `bytes` is exactly the 8-byte Turbo Tunnel token (the server reads exactly 8 bytes, §3.4). */
export function isTurbotunnelToken(bytes: Uint8Array): boolean {
  return bytesEqual(bytes, TOKEN);
}

/** Capacity of every Turbo Tunnel packet queue, in packets: 512 in Go Snowflake 2.5.1 (2048 in 2.3). */
export const QUEUE_SIZE = 512;
