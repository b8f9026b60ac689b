/**
 * Reading packets a batch at a time, for the KCP read loops (session.ts,
 * listener.ts): a PacketConn that also has `readBatch` (UdpPacketConn: every
 * datagram of one recvmmsg) hands over a whole batch per promise, and the KCP
 * sessions fed from it flush and deliver once per batch instead of once per
 * packet. Any other PacketConn is read one packet at a time, as before.
 */

import type { Packet, PacketConn } from "../net/packet_conn.ts";

/** The optional extension: packets already received, at least one; null once closed. */
export interface BatchPacketReader {
  readBatch(): Promise<Packet[] | null>;
}

/** The next packets from `conn`: a batch where it can give one, else one packet; null once closed. */
export async function readPacketBatch(
  conn: PacketConn & Partial<BatchPacketReader>,
): Promise<Packet[] | null> {
  if (conn.readBatch !== undefined) return conn.readBatch();
  const packet = await conn.readFrom();
  return packet === null ? null : [packet];
}
