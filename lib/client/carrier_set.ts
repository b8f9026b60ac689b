/**
 * The session's PacketConn over its carriers: the one place that decides how
 * carriers are used. A {@link MultiplexingPacketConn} carries over up to `max`
 * proxies at once, striping KCP's packets across them by what each delivers;
 * when one is lost, what it held is sent again on the others and a
 * replacement is dialed in the background (the session's ProxyPool collects
 * it). With `max` 1 it behaves as RedialPacketConn, the Go client's way: one
 * carrier until it ends, then the next (SNOWFLAKE-PROTOCOL.md §3.7).
 *
 * Padding (off by default): a carrier that sent nothing for `paddingIdleMs`
 * sends {@link PADDING_MIN_BYTES}–{@link PADDING_MAX_BYTES} bytes of padding,
 * and the preamble carries a padding chunk of that size after the ClientID.
 * Every receiver skips padding (Go's server and ours alike).
 */

import type { PacketConn } from "../net/packet_conn.ts";
import { MultiplexingPacketConn } from "../turbotunnel/multiplexing_packet_conn.ts";
import type { DialCarrier } from "../turbotunnel/redial_packet_conn.ts";
import type { ReorderStats } from "../turbotunnel/reorder_buffer.ts";

/** Smallest padding sent at once, bytes. */
export const PADDING_MIN_BYTES = 64;
/** Largest padding sent at once, bytes (one data-channel message, well under what a browser proxy forwards). */
export const PADDING_MAX_BYTES = 1024;

/** The session's carrier PacketConn, as the session needs it. */
export interface CarrierSet extends PacketConn {
  /** Resolves when the set closes for good (null after close()). */
  readonly closed: Promise<Error | null>;
  /** Segments resent at once on other carriers after a carrier was dropped. */
  readonly reinjected: number;
  /** What putting the bridge's packets back in order did (null with max 1). */
  reorderStats(): ReorderStats | null;
}

export interface CarrierSetOptions {
  /** Proxies carrying at once (≥ 1). */
  max: number;
  /** Padding on a carrier idle this long, ms; 0: no padding. */
  paddingIdleMs: number;
}

/** A carrier set that dials with `dial` (each dial takes a proxy from the session's pool). */
export function createCarrierSet(dial: DialCarrier, options: CarrierSetOptions): CarrierSet {
  const { max, paddingIdleMs } = options;
  if (!(Number.isInteger(max) && max >= 1)) {
    throw new RangeError(`max must be a whole number ≥ 1, got ${max}`);
  }
  return new MultiplexingPacketConn(dial, {
    max,
    remoteAddr: "snowflake",
    idlePadding: paddingIdleMs > 0
      ? { idleMs: paddingIdleMs, minBytes: PADDING_MIN_BYTES, maxBytes: PADDING_MAX_BYTES }
      : null,
  });
}

/** The size of one padding chunk: uniform in [PADDING_MIN_BYTES, PADDING_MAX_BYTES]. */
export function paddingSize(random: () => number = Math.random): number {
  return PADDING_MIN_BYTES + Math.floor(random() * (PADDING_MAX_BYTES - PADDING_MIN_BYTES + 1));
}
