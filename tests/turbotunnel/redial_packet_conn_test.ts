/** RedialPacketConn against the redial cases (redial_cases.ts) and the PacketConn conformance suite. */

import { RedialPacketConn } from "../../lib/turbotunnel/redial_packet_conn.ts";
import { runRedialCases } from "./redial_cases.ts";

runRedialCases("RedialPacketConn", (dial, options) => new RedialPacketConn(dial, options));
