/**
 * How the server reaches tor for one client connection: DialOr with transport
 * name `snowflake` (SNOWFLAKE-PROTOCOL.md §8.7), from a random source address
 * in `orport-srcaddr` when that option is set.
 */

import { dialOr, type OrTarget } from "../../pt/dial_or.ts";
import type { DuplexConn } from "../../pt/or_conn.ts";
import { randomSrcAddr, type SrcAddrRange } from "./src_addr.ts";

/** The PT method name the server reports and sends in TRANSPORT. */
export const SNOWFLAKE_METHOD_NAME = "snowflake";

/** Where tor is and how to reach it; plain data, so it can be posted to a Web Worker. */
export interface TorConfig {
  /** The ORPort, or the Extended ORPort and its auth cookie. */
  target: OrTarget;
  /** `orport-srcaddr`: the source address range for connections to tor. */
  srcAddr?: SrcAddrRange;
}

/** A function that connects to tor for a client at `userAddr` ("" = unknown). */
export function torDialer(config: TorConfig): (userAddr: string) => Promise<DuplexConn> {
  return (userAddr) =>
    dialOr(config.target, userAddr, SNOWFLAKE_METHOD_NAME, {
      localAddress: config.srcAddr ? randomSrcAddr(config.srcAddr) : undefined,
    });
}
