/** The PacketConn conformance suite run against the reference in-memory pair. */

import { memoryPacketPair } from "../support/memory.ts";
import { runPacketConnCases } from "./packet_conn_cases.ts";

runPacketConnCases({
  name: "memoryPacketPair",
  makePair: () => {
    const [a, b] = memoryPacketPair(64, ["a", "b"]);
    return { a, b, aAddr: "a", bAddr: "b", capacity: 64 };
  },
});
