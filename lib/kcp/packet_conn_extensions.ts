/**
 * What a PacketConn may offer beyond the interface (lib/net/packet_conn.ts)
 * that KCP's session and listener make use of; UdpPacketConn offers both. Any
 * other PacketConn is used as before.
 *
 * - `readBatch`: packets a batch at a time. The read loops (session.ts,
 *   listener.ts) put every packet of a batch into its session first, then flush
 *   and deliver once per session, instead of once per packet.
 * - `copiesOnWrite`: writeTo copies the packet before it returns, so the sender
 *   may reuse the buffer at once. A session over such a conn encodes every
 *   packet into one buffer of its own (packet_writer.ts) instead of carving a
 *   fresh one out of the shared slabs the conn would otherwise keep.
 */

import type { Packet, PacketConn } from "../net/packet_conn.ts";

export interface PacketConnExtensions {
  /** Packets already received, at least one; null once closed. */
  readBatch(): Promise<Packet[] | null>;
  /** true: writeTo copies `packet` before it returns (the conn does not keep it). */
  readonly copiesOnWrite: boolean;
}

/** A PacketConn, perhaps with some of the extensions. */
export type ExtendedPacketConn = PacketConn & Partial<PacketConnExtensions>;

/**
 * The next packets from `conn`: a batch (an array) where it can give one, else
 * one packet, as the conn's own promise (no extra hop per packet); null once closed.
 */
export function readPackets(conn: ExtendedPacketConn): Promise<Packet[] | Packet | null> {
  return conn.readBatch !== undefined ? conn.readBatch() : conn.readFrom();
}
