/**
 * RTCConfiguration: the W3C fields Snowflake uses (iceServers) plus the
 * pion settings the roles need, as optional extra fields a browser ignores.
 * Snowflake's roles use mDNS off, local addresses stripped unless
 * `-keep-local-addresses`, and the proxy's `-ephemeral-ports-range`
 * (SNOWFLAKE-PROTOCOL.md §6.2, §7.4–7.5).
 */

import { parseIp } from "../net/addr.ts";
import type { Logger } from "../util/log.ts";

/** A STUN or TURN server, as in the W3C API. */
export interface RTCIceServer {
  /** One URL or several, e.g. `"stun:stun.l.google.com:19302"`. */
  urls: string | string[];
  /** TURN user name. */
  username?: string;
  /** TURN password. */
  credential?: string;
}

/** Settings of an {@link RTCPeerConnection}: the W3C `iceServers`, and ours for Snowflake's needs. */
export interface RTCConfiguration {
  /** STUN/TURN servers, e.g. `[{ urls: "stun:stun.l.google.com:19302" }]`. */
  iceServers?: RTCIceServer[];
  /** Gather 127.0.0.1/::1 host candidates (pion skips them by default); for peers on one host. Default false. */
  includeLoopbackCandidates?: boolean;
  /**
   * Remove private, loopback and unspecified host candidates from
   * localDescription, as Go Snowflake does unless `-keep-local-addresses`.
   * Default false (browser behaviour).
   */
  stripLocalAddresses?: boolean;
  /** UDP ports ICE may bind, inclusive (`-ephemeral-ports-range min:max`). Default: any. */
  portRange?: { min: number; max: number };
  /** mDNS candidates: "disabled" (Snowflake's and our default), "query-only", "query-and-gather". */
  mdns?: "disabled" | "query-only" | "query-and-gather";
  /**
   * Declare ICE gathering complete after this many ms with the candidates found
   * so far, if pion has not finished. Default 0: wait for pion (which gives up
   * on a STUN server after 5 s by itself).
   */
  iceGatheringTimeoutMs?: number;
  /**
   * Prefer this IP as the outbound address for ICE (the proxy's `-outbound-address`): an address
   * of this host limits host candidates to it; any other (a public address in front of a 1:1 NAT)
   * replaces the host candidates' address, as upstream Snowflake does. Server-reflexive candidates
   * stay, and the address is never stripped as local. Default: every interface.
   */
  outboundAddress?: string;
  /** Where pion's warnings and errors go (addresses scrubbed by the Logger). Default: dropped. */
  logger?: Logger;
}

/** The JSON the shim's swrtc_pc_new parses (native/config.go); throws TypeError on bad values. */
export function encodePeerConfig(config: RTCConfiguration): string {
  const iceServers = (config.iceServers ?? []).map((server, i) => {
    const urls = typeof server.urls === "string" ? [server.urls] : [...server.urls];
    if (urls.length === 0 || urls.some((url) => typeof url !== "string" || url === "")) {
      throw new TypeError(`RTCConfiguration: iceServers[${i}].urls must be one or more URLs`);
    }
    return { urls, username: server.username ?? "", credential: server.credential ?? "" };
  });
  const range = config.portRange;
  if (range && !(isPort(range.min) && isPort(range.max) && range.min <= range.max)) {
    throw new TypeError(
      `RTCConfiguration: portRange ${range.min}:${range.max} needs 1 <= min <= max <= 65535`,
    );
  }
  const timeout = config.iceGatheringTimeoutMs ?? 0;
  if (!Number.isInteger(timeout) || timeout < 0) {
    throw new TypeError(`RTCConfiguration: iceGatheringTimeoutMs ${timeout} is not a whole number >= 0`);
  }
  const mdns = config.mdns ?? "disabled";
  if (!["disabled", "query-only", "query-and-gather"].includes(mdns)) {
    throw new TypeError(`RTCConfiguration: mdns "${mdns}" is not disabled, query-only or query-and-gather`);
  }
  const outbound = config.outboundAddress ?? "";
  if (outbound !== "" && parseIp(outbound) === null) {
    throw new TypeError(`RTCConfiguration: outboundAddress ${JSON.stringify(outbound)} is not an IP address`);
  }
  return JSON.stringify({
    iceServers,
    includeLoopbackCandidates: config.includeLoopbackCandidates ?? false,
    stripLocalAddresses: config.stripLocalAddresses ?? false,
    portMin: range?.min ?? 0,
    portMax: range?.max ?? 0,
    mdns,
    iceGatheringTimeoutMs: timeout,
    outboundAddress: outbound,
  });
}

function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}
