/**
 * Snowflake's server transport options (SNOWFLAKE-PROTOCOL.md §8.2), from
 * `TOR_PT_SERVER_TRANSPORT_OPTIONS` (torrc `ServerTransportOptions snowflake
 * k=v …`) or the standalone flags of the same names:
 * - `num-turbotunnel=N`: KCP instances, N ≥ 1 (default 1); we also cap it at
 *   {@link MAX_NUM_TURBOTUNNEL} (each is a Web Worker);
 * - `orport-srcaddr=IP|CIDR`: source address(es) for connections to tor.
 * Errors carry Go's wording; the caller prints `SMETHOD-ERROR snowflake <message>`.
 */

import { errorMessage } from "../util/errors.ts";
import type { PtArgs } from "../pt/args.ts";
import { parseSrcAddr, type SrcAddrRange } from "./tunnel/src_addr.ts";

export const MAX_NUM_TURBOTUNNEL = 64;

export interface SnowflakeTransportOptions {
  numTurbotunnel: number;
  srcAddr?: SrcAddrRange;
}

export class TransportOptionError extends Error {
  override name = "TransportOptionError";
}

/** Go's strconv.Atoi on `text`, with its error text. */
function atoi(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) {
    throw new TransportOptionError(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new TransportOptionError(`strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range`);
  }
  return value;
}

/** Parses `num-turbotunnel` (a string, or undefined for the default 1). */
export function parseNumTurbotunnel(text: string | undefined): number {
  if (text === undefined) return 1;
  try {
    const n = atoi(text);
    if (n < 1) throw new TransportOptionError("cannot be less than 1");
    if (n > MAX_NUM_TURBOTUNNEL) throw new TransportOptionError(`cannot be more than ${MAX_NUM_TURBOTUNNEL}`);
    return n;
  } catch (error) {
    throw new TransportOptionError(`parsing num-turbotunnel: ${errorMessage(error)}`);
  }
}

/** Parses the options tor gave for the snowflake method. */
export function parseTransportOptions(args: PtArgs): SnowflakeTransportOptions {
  const options: SnowflakeTransportOptions = { numTurbotunnel: 1 };
  const srcAddr = args.first("orport-srcaddr");
  if (srcAddr !== undefined) {
    try {
      options.srcAddr = parseSrcAddr(srcAddr);
    } catch (error) {
      throw new TransportOptionError(`parsing srcaddr: ${errorMessage(error)}`);
    }
  }
  options.numTurbotunnel = parseNumTurbotunnel(args.first("num-turbotunnel"));
  return options;
}
