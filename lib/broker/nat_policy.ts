/**
 * Which waiting proxies a client may be given, by NAT type
 * (SNOWFLAKE-PROTOCOL.md §4.7). The reference broker keeps two heaps:
 * unrestricted proxies, and everything else (restricted and unknown). An
 * unrestricted client draws only from the second, a restricted or unknown
 * client only from the first.
 *
 * We keep unknown proxies in a pool of their own so that one policy of ours
 * can be added: with `allowUnknownNatMatching`, an unknown client that finds
 * no unrestricted proxy may take an unknown one. That matters where NAT
 * probing cannot work (a Go 2.5.1 proxy probes a fixed Tor Project server, so
 * on a private network every proxy is `unknown` and the reference broker never
 * matches it with an unknown client). Without the flag the choices are
 * exactly the reference's.
 */

import { NAT_RESTRICTED, NAT_UNKNOWN, NAT_UNRESTRICTED, type NatType } from "../messages/nat.ts";

/** How strictly NAT types must be compatible for a match (SNOWFLAKE-PROTOCOL.md §4.6). */
export interface NatPolicy {
  /** Let an unknown-NAT client fall back to unknown-NAT proxies. Default false (reference behaviour). */
  allowUnknownNatMatching?: boolean;
}

/**
 * The proxy pools (by proxy NAT type) a client may draw from, as tiers: the
 * first tier with a waiting proxy is used, and within a tier the proxy with
 * the fewest clients across its pools wins.
 */
export function candidateProxyPools(clientNat: NatType, policy: NatPolicy = {}): NatType[][] {
  switch (clientNat) {
    case NAT_UNRESTRICTED:
      return [[NAT_RESTRICTED, NAT_UNKNOWN]];
    case NAT_RESTRICTED:
      return [[NAT_UNRESTRICTED]];
    case NAT_UNKNOWN:
      return policy.allowUnknownNatMatching ? [[NAT_UNRESTRICTED], [NAT_UNKNOWN]] : [[NAT_UNRESTRICTED]];
  }
}
