/**
 * The broker's typed events: each poll's outcome, as the handler decides it.
 * Logs, tests and embedders read these (`broker.events.addEventListener(
 * "proxypolled", ...)`) instead of parsing log lines; the metrics count the
 * same decisions.
 */

import type { NatType } from "../messages/nat.ts";
import { TypedEventTarget } from "../util/typed_events.ts";

/** A proxy's poll was accepted and now waits for a client. */
export interface ProxyPolledDetail {
  /** The proxy's NAT type and `Type` as it reported them. */
  nat: NatType;
  /** The proxy's `Type` (standalone, webext, badge, …). */
  proxyType: string;
}

/** A proxy's poll ended: matched with a client's offer, or not. */
export interface ProxyRepliedDetail {
  /** The proxy's NAT type. */
  nat: NatType;
  /** `matched` (a client's offer went back), `no-match` (the proxy timeout), or why the poll was refused or dropped. */
  outcome: "matched" | "no-match" | "over-capacity" | "sid-in-use" | "cancelled";
}

/** A client's poll ended (`/client` or `/amp/client/`); `bridge-not-found` when its fingerprint is unknown. */
export interface ClientRepliedDetail {
  /** The client's NAT type. */
  nat: NatType;
  /** `answered` (a proxy's answer went back), or why not. */
  outcome:
    | "answered"
    | "no-proxy"
    | "timed-out"
    | "over-capacity"
    | "cancelled"
    | "bridge-not-found"
    | "bad-offer";
}

/** The broker's events by type. */
export interface BrokerEventMap {
  /** A proxy's poll waits for a client. */
  proxypolled: CustomEvent<ProxyPolledDetail>;
  /** A proxy's poll ended. */
  proxyreplied: CustomEvent<ProxyRepliedDetail>;
  /** A client's poll ended. */
  clientreplied: CustomEvent<ClientRepliedDetail>;
}

/** Where the broker publishes {@link BrokerEventMap}. */
export class BrokerEvents extends TypedEventTarget<BrokerEventMap> {}
