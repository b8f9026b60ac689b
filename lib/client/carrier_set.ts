/**
 * The session's PacketConn over its carriers: the one place that decides how
 * carriers are used. Today that is {@link RedialPacketConn} (one carrier at a
 * time, the next dialed when it ends; SNOWFLAKE-PROTOCOL.md §3.7), the Go
 * client's behaviour; the spares that `max` allows wait in the session's
 * ProxyPool. A MultiplexingPacketConn that carries over up to `max` at once
 * replaces it here, and nowhere else.
 */

import type { PacketConn } from "../net/packet_conn.ts";
import { type DialCarrier, RedialPacketConn } from "../turbotunnel/redial_packet_conn.ts";

/** The session's carrier PacketConn, as the session needs it. */
export interface CarrierSet extends PacketConn {
  /** Resolves when the set closes for good (null after close()). */
  readonly closed: Promise<Error | null>;
}

/**
 * A carrier set that dials with `dial`; `max` is how many proxies the session
 * may hold at once (RedialPacketConn carries over one; the rest are spares).
 */
export function createCarrierSet(dial: DialCarrier, max: number): CarrierSet {
  if (!(max >= 1)) throw new RangeError(`max must be at least 1, got ${max}`);
  return new RedialPacketConn(dial, { remoteAddr: "snowflake" });
}
