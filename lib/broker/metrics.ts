/**
 * What the broker counts (SNOWFLAKE-PROTOCOL.md §4.10): per-period counts for
 * the CollecTor metrics log (reset every period, see collector_stats.ts) and
 * cumulative counts for Prometheus (see prometheus.ts), fed by the handler.
 *
 * Distinct proxy addresses per proxy type and per NAT type are kept for the
 * period (as Go does, to count unique proxies and their countries). They are
 * bounded by `maxTrackedAddresses` in total: past it, new addresses are not
 * counted until the next period, and `addressesDropped` says how many were
 * missed. Unlike Go, NAT counts do not need a geoip database.
 */

import { NAT_UNRESTRICTED, type NatType } from "../messages/nat.ts";
import { KNOWN_PROXY_TYPES, PROXY_TYPE_UNKNOWN } from "../messages/proxy_poll.ts";
import { type GeoipTable, UNKNOWN_COUNTRY } from "./geoip.ts";

/** Default bound on distinct addresses remembered per period (about 100 bytes each). */
export const MAX_TRACKED_ADDRESSES = 500_000;

/** Counts reset every metrics period (Go `zeroMetrics`). */
export interface PeriodCounts {
  /** Proxy polls that ended without a client. */
  proxyIdle: number;
  /** Proxy polls that carried `AcceptedRelayPattern`. */
  proxyPollWithRelayUrl: number;
  /** Proxy polls without `AcceptedRelayPattern`. */
  proxyPollWithoutRelayUrl: number;
  /** Proxy polls refused because their relay pattern does not cover the broker's. */
  proxyRejectedForRelayUrl: number;
  /** Client polls answered "no snowflake proxies currently available". */
  clientDenied: number;
  /** Of those, clients behind a restricted NAT. */
  clientRestrictedDenied: number;
  /** Of those, clients behind an unrestricted NAT. */
  clientUnrestrictedDenied: number;
  /** Client polls that got a proxy's answer. */
  clientMatch: number;
}

function zeroCounts(): PeriodCounts {
  return {
    proxyIdle: 0,
    proxyPollWithRelayUrl: 0,
    proxyPollWithoutRelayUrl: 0,
    proxyRejectedForRelayUrl: 0,
    clientDenied: 0,
    clientRestrictedDenied: 0,
    clientUnrestrictedDenied: 0,
    clientMatch: 0,
  };
}

/** A Prometheus counter family: label values joined by "\u0000" → count. */
export type CounterFamily = Map<string, number>;

export class BrokerMetrics {
  geoip: GeoipTable | undefined;
  readonly maxTrackedAddresses: number;

  counts: PeriodCounts = zeroCounts();
  /** Distinct addresses this period, by proxy type (`unknown` for unrecognised types). */
  addressesByType: Map<string, Set<string>> = new Map();
  /** Distinct addresses this period, by NAT type. */
  addressesByNat: Map<NatType, Set<string>> = new Map();
  /** Distinct proxies this period by country (only with a geoip table). */
  countries: Map<string, number> = new Map();
  /** Addresses not remembered this period because of the bound. */
  addressesDropped = 0;
  #tracked = 0;

  /** Cumulative, for Prometheus. Keys are label values joined with NUL, in the order named. */
  readonly proxyTotal: CounterFamily = new Map(); // type, nat, cc
  readonly proxyPollTotal: CounterFamily = new Map(); // nat, status
  readonly clientPollTotal: CounterFamily = new Map(); // nat, status
  readonly proxyPollWithRelayUrlTotal: CounterFamily = new Map(); // nat, type
  readonly proxyPollWithoutRelayUrlTotal: CounterFamily = new Map(); // nat, type
  readonly proxyPollRejectedRelayUrlTotal: CounterFamily = new Map(); // nat, type
  readonly overCapacityTotal: CounterFamily = new Map(); // role

  constructor(options: { geoip?: GeoipTable; maxTrackedAddresses?: number } = {}) {
    this.geoip = options.geoip;
    this.maxTrackedAddresses = options.maxTrackedAddresses ?? MAX_TRACKED_ADDRESSES;
  }

  /** A proxy poll decoded; `withRelayPattern` says whether it carried `AcceptedRelayPattern`. */
  proxyPolled(type: string, nat: NatType, withRelayPattern: boolean): void {
    if (withRelayPattern) {
      this.counts.proxyPollWithRelayUrl++;
      bump(this.proxyPollWithRelayUrlTotal, nat, type);
    } else {
      this.counts.proxyPollWithoutRelayUrl++;
      bump(this.proxyPollWithoutRelayUrlTotal, nat, type);
    }
  }

  proxyRejectedForRelayPattern(type: string, nat: NatType): void {
    this.counts.proxyRejectedForRelayUrl++;
    bump(this.proxyPollRejectedRelayUrlTotal, nat, type);
  }

  /** A proxy at `address` (no port) takes part this period (Go `UpdateCountryStats`). */
  proxySeen(address: string, type: string, nat: NatType): void {
    const key = KNOWN_PROXY_TYPES.includes(type) ? type : PROXY_TYPE_UNKNOWN;
    let byType = this.addressesByType.get(key);
    if (!byType) this.addressesByType.set(key, byType = new Set());
    if (byType.has(address)) return;
    if (!this.#track(byType, address)) return;
    const country = this.geoip ? this.geoip.country(address) : undefined;
    if (country !== undefined) this.countries.set(country, (this.countries.get(country) ?? 0) + 1);
    bump(this.proxyTotal, key, nat, country ?? UNKNOWN_COUNTRY);
    let byNat = this.addressesByNat.get(nat);
    if (!byNat) this.addressesByNat.set(nat, byNat = new Set());
    if (!byNat.has(address)) this.#track(byNat, address);
  }

  /** A poll ended without a client. */
  proxyIdle(nat: NatType): void {
    this.counts.proxyIdle++;
    bump(this.proxyPollTotal, nat, "idle");
  }

  /** A poll was given a client. */
  proxyMatched(nat: NatType): void {
    bump(this.proxyPollTotal, nat, "matched");
  }

  /** No compatible proxy waited for a client. */
  clientDenied(nat: NatType): void {
    this.counts.clientDenied++;
    if (nat === NAT_UNRESTRICTED) this.counts.clientUnrestrictedDenied++;
    else this.counts.clientRestrictedDenied++;
    bump(this.clientPollTotal, nat, "denied");
  }

  /** A client got its answer. */
  clientMatched(nat: NatType): void {
    this.counts.clientMatch++;
    bump(this.clientPollTotal, nat, "matched");
  }

  /** A client's proxy did not answer in time (ours; Go has no such label). */
  clientTimedOut(nat: NatType): void {
    bump(this.clientPollTotal, nat, "timeout");
  }

  /** A poll or offer was refused because too many already wait. */
  overCapacity(role: "proxy" | "client"): void {
    bump(this.overCapacityTotal, role);
  }

  /** Starts a new period (Go `zeroMetrics`). */
  resetPeriod(): void {
    this.counts = zeroCounts();
    this.addressesByType = new Map();
    this.addressesByNat = new Map();
    this.countries = new Map();
    this.addressesDropped = 0;
    this.#tracked = 0;
  }

  /** Distinct proxies this period with NAT `restricted`, `unrestricted`, `unknown`. */
  natAddressCount(nat: NatType): number {
    return this.addressesByNat.get(nat)?.size ?? 0;
  }

  #track(set: Set<string>, address: string): boolean {
    if (this.#tracked >= this.maxTrackedAddresses) {
      this.addressesDropped++;
      return false;
    }
    set.add(address);
    this.#tracked++;
    return true;
  }
}

function bump(family: CounterFamily, ...labels: string[]): void {
  const key = labels.join("\u0000");
  family.set(key, (family.get(key) ?? 0) + 1);
}
