/**
 * The proxy's NAT test over `-stun`: RFC 5780's mapping tests and its
 * filtering test (lib/nat's `discoverNatType` with `testFiltering`). The Go
 * proxy asks its probe service whether a client behind a restrictive NAT can
 * reach it, which is what the filtering test tells locally: a proxy whose NAT
 * filters by port (or maps per destination) is `restricted` and is matched
 * only with unrestricted clients. `unknown` when the server cannot tell.
 */

import type { NatType } from "../messages/nat.ts";
import { discoverNatType } from "../nat/discover_nat_type.ts";
import type { Logger } from "../util/log.ts";

/** Options of {@link stunNatProbe}; the defaults are lib/nat's. */
export interface StunNatProbeOptions {
  /** Per-request bound, retransmissions included; also how long the filtering test waits for no answer. */
  transactionTimeoutMs?: number;
  /** Bound on the whole test. */
  timeoutMs?: number;
}

/** A `probeNat` for {@link ProxyConfig}: the mapping and filtering tests against `stunUrl`. */
export function stunNatProbe(
  stunUrl: string,
  logger: Logger,
  options: StunNatProbeOptions = {},
): (signal: AbortSignal) => Promise<NatType> {
  return (signal) =>
    discoverNatType({
      stunUrl,
      signal,
      testFiltering: true,
      ...options,
      onResult: (result) =>
        logger.debug(
          `NAT test: ${result.natType} (mapping ${result.mapping}, filtering ${result.filtering}` +
            `${result.reason ? `: ${result.reason}` : ""})`,
        ),
    });
}
