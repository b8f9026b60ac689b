/**
 * KCP settings: the knobs of kcp-go's `SetStreamMode`, `SetWindowSize`,
 * `SetNoDelay` and `SetMtu` (KCP-SMUX.md §4.15), kcp-go's defaults, and the
 * values Snowflake sets on both ends (§5).
 */

import { KcpError } from "./error.ts";
import { SEGMENT_HEADER_SIZE } from "./segment.ts";

/** KCP's tunables, named as ikcp.c names them (see KCP-SMUX.md §4). */
export interface KcpOptions {
  /** Stream mode: writes merge into full segments, frg always 0 (`SetStreamMode`). */
  streamMode: boolean;
  /** Send window in segments (`SetWindowSize`). */
  sndWnd: number;
  /** Receive window in segments; at most 65535 since `wnd` is u16 on the wire. */
  rcvWnd: number;
  /** Non-zero: min RTO 30 ms and half-step backoff; 0: min RTO 100 ms, linear backoff (`SetNoDelay`). */
  nodelay: number;
  /** Flush interval in ms; kcp-go clamps it to [10, 5000], so 0 means 10. */
  interval: number;
  /** Fast-resend threshold in ACK skips; 0 = off (early retransmit stays on, §4.6). */
  resend: number;
  /** Non-zero turns congestion control off (window = min(sndWnd, rmtWnd)). */
  nc: number;
  /** Largest packet in bytes, 50…1500 (`SetMtu`); mss = mtu − 24. */
  mtu: number;
}

/** kcp-go's `NewKCP` defaults (§4.1), which a fresh Go server session runs with until its setters run (§2.3). */
export const KCP_DEFAULT_OPTIONS: Readonly<KcpOptions> = Object.freeze({
  streamMode: false,
  sndWnd: 32, // IKCP_WND_SND
  rcvWnd: 32, // IKCP_WND_RCV
  nodelay: 0,
  interval: 100, // IKCP_INTERVAL
  resend: 0,
  nc: 0,
  mtu: 1400, // IKCP_MTU_DEF
});

/**
 * Snowflake's settings on client and server (§5): `SetStreamMode(true)`,
 * `SetWindowSize(65535, 65535)`, `SetNoDelay(0, 0, 0, 1)` (interval 0 → 10 ms),
 * MTU left at 1400.
 */
export const SNOWFLAKE_KCP_OPTIONS: Readonly<KcpOptions> = Object.freeze({
  streamMode: true,
  sndWnd: 65535,
  rcvWnd: 65535,
  nodelay: 0,
  interval: 10,
  resend: 0,
  nc: 1,
  mtu: 1400,
});

/** kcp-go's receive buffer and `SetMtu` ceiling (mtuLimit, §1.4). */
export const MTU_LIMIT = 1500;
const MTU_MIN = 50; // KCP.SetMtu refuses less
const INTERVAL_MIN_MS = 10; // kcp-go clamps interval < 10 ms to 10 ms; match it or timing diverges
const INTERVAL_MAX_MS = 5000;

/**
 * `options` over kcp-go's defaults, with kcp-go's interval clamp applied.
 * Throws KcpError "invalid-options" where kcp-go would refuse the value or
 * silently truncate it on the wire (rcvWnd > 65535).
 */
export function resolveKcpOptions(options: Partial<KcpOptions> = {}): KcpOptions {
  const resolved = { ...KCP_DEFAULT_OPTIONS, ...options };
  const { sndWnd, rcvWnd, mtu, interval, resend } = resolved;
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new KcpError("invalid-options", what);
  };
  check(Number.isInteger(sndWnd) && sndWnd >= 1 && sndWnd <= 0xffffffff, `sndWnd ${sndWnd} is not 1…2³²−1`);
  check(Number.isInteger(rcvWnd) && rcvWnd >= 1 && rcvWnd <= 65535, `rcvWnd ${rcvWnd} is not 1…65535`);
  check(
    Number.isInteger(mtu) && mtu >= MTU_MIN && mtu <= MTU_LIMIT,
    `mtu ${mtu} is not ${MTU_MIN}…${MTU_LIMIT}`,
  );
  check(Number.isFinite(interval), `interval ${interval} is not a number`);
  check(Number.isInteger(resend) && resend >= 0, `resend ${resend} is not a count`);
  resolved.interval = Math.min(INTERVAL_MAX_MS, Math.max(INTERVAL_MIN_MS, Math.floor(interval)));
  return resolved;
}

/** Payload bytes per segment for `mtu` (no crypto/FEC header is reserved). */
export function mssFor(mtu: number): number {
  return mtu - SEGMENT_HEADER_SIZE;
}
