/**
 * NAT types as the client, proxy and broker name them
 * (SNOWFLAKE-PROTOCOL.md §4.2, §4.5; Go `common/nat`).
 */

import { MessageError } from "./errors.ts";

export const NAT_UNKNOWN = "unknown";
export const NAT_RESTRICTED = "restricted";
export const NAT_UNRESTRICTED = "unrestricted";

/**
 * A peer's NAT as Snowflake classifies it: `unrestricted` (endpoint-independent
 * mapping and filtering: any peer can reach it), `restricted`, or `unknown`.
 */
export type NatType = "unknown" | "restricted" | "unrestricted";

/** The NAT types in a fixed order (for tables and metrics). */
export const NAT_TYPES: readonly NatType[] = [NAT_RESTRICTED, NAT_UNRESTRICTED, NAT_UNKNOWN];

/** Empty means `unknown`; anything but the three names throws "invalid NAT type". */
export function parseNatType(value: string): NatType {
  switch (value) {
    case "":
      return NAT_UNKNOWN;
    case NAT_UNKNOWN:
    case NAT_RESTRICTED:
    case NAT_UNRESTRICTED:
      return value;
    default:
      throw new MessageError("invalid NAT type");
  }
}
