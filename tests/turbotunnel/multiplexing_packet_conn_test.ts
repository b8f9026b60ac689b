/**
 * MultiplexingPacketConn: with max 1, RedialPacketConn's cases (redial_cases.ts)
 * and the PacketConn conformance suite; with several carriers, striping,
 * loss, replacement and reinjection over memory carriers.
 */

import { MultiplexingPacketConn } from "../../lib/turbotunnel/multiplexing_packet_conn.ts";
import { runRedialCases } from "./redial_cases.ts";

runRedialCases(
  "MultiplexingPacketConn max 1",
  (dial, options) => new MultiplexingPacketConn(dial, { ...options, max: 1 }),
);
