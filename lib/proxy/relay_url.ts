/**
 * Which relay the proxy may dial, and the URL it dials
 * (SNOWFLAKE-PROTOCOL.md §6.4, §6.6). A relay URL from the broker must match
 * `-allowed-relay-hostname-pattern` and use `wss` (plain `ws` only with
 * `-allow-non-tls-relay`); the `-relay` default is the operator's own choice
 * and skips those two checks, as in Go. Either must be `ws:`/`wss:`, and never
 * points at an unspecified, loopback, private or link-local address unless
 * `-allow-proxying-to-private-addresses` (upstream's later rule: a broker or
 * client must not make the proxy reach its own LAN). Hostnames are checked
 * through an injected resolver when one is given (the dial resolves again, so
 * this narrows the hole rather than closing it against DNS rebinding).
 */

import { errorMessage } from "../util/errors.ts";
import { isNonPublicIp, parseIp } from "../net/addr.ts";
import type { NameMatcher } from "../messages/name_matcher.ts";

/** A relay URL the proxy will not dial; `message` says which rule. */
export class RelayUrlError extends Error {
  override name = "RelayUrlError";
}

/** Resolves a hostname to IP literals (A and AAAA). */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export interface RelayUrlPolicy {
  /** `-allowed-relay-hostname-pattern`, for relay URLs the broker gives. */
  pattern: NameMatcher;
  /** `-allow-non-tls-relay`: accept `ws:` from the broker. */
  allowNonTls: boolean;
  /** `-allow-proxying-to-private-addresses`. */
  allowPrivateAddresses: boolean;
  /** Resolves hostnames for the private-address rule; without one only IP literals and `localhost` are checked. */
  resolveHost?: ResolveHost;
}

/** Parses `text` as a `ws:`/`wss:` URL or throws {@link RelayUrlError}. */
export function parseRelayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RelayUrlError(`relay URL ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new RelayUrlError(`relay URL scheme ${url.protocol} is not ws: or wss:`);
  }
  return url;
}

/** The bare host of a URL: `[::1]` becomes `::1`. */
export function urlHost(url: URL): string {
  const host = url.hostname;
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Checks the relay URL for one client: `fromBroker` is true for the broker's
 * RelayURL, false for the `-relay` default. Resolves to the URL to dial;
 * rejects with {@link RelayUrlError}.
 */
export async function checkRelayUrl(text: string, fromBroker: boolean, policy: RelayUrlPolicy): Promise<URL> {
  const url = parseRelayUrl(text);
  const host = urlHost(url);
  if (fromBroker) {
    if (!policy.pattern.isMember(host)) {
      throw new RelayUrlError(`relay hostname ${host} does not match the allowed relay hostname pattern`);
    }
    if (url.protocol !== "wss:" && !policy.allowNonTls) {
      throw new RelayUrlError("relay URL is not wss: (-allow-non-tls-relay allows ws:)");
    }
  }
  if (!policy.allowPrivateAddresses) await checkPublicHost(host, policy.resolveHost);
  return url;
}

async function checkPublicHost(host: string, resolveHost: ResolveHost | undefined): Promise<void> {
  const refuse = (address: string) =>
    new RelayUrlError(
      `relay address ${address} is loopback, private or link-local (-allow-proxying-to-private-addresses allows it)`,
    );
  const literal = parseIp(host);
  if (literal) {
    if (isNonPublicIp(literal)) throw refuse(host);
    return;
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) throw refuse(host);
  if (!resolveHost) return;
  let addresses: string[];
  try {
    addresses = await resolveHost(name);
  } catch (error) {
    throw new RelayUrlError(`relay hostname ${host} does not resolve: ${errorMessage(error)}`);
  }
  for (const address of addresses) {
    const ip = parseIp(address);
    if (!ip || isNonPublicIp(ip)) throw refuse(`${host} (${address})`);
  }
}

/**
 * The URL to dial: `client_ip` set to the client's bare IP, the query keys
 * sorted (Go's `url.Values.Encode`, which percent-encodes `:` as `%3A`).
 * Without an IP the URL is unchanged.
 */
export function relayUrlWithClientIp(url: URL, clientIp: string | undefined): string {
  if (clientIp === undefined) return url.href;
  const out = new URL(url.href);
  const query = new URLSearchParams(out.search);
  query.set("client_ip", clientIp);
  query.sort();
  out.search = query.toString();
  return out.href;
}
