/**
 * The AMP cache form of a URL (SNOWFLAKE-PROTOCOL.md §5.2; Go
 * `common/amp/cache.go` `CacheURL`, from the AMP cache URL format): the
 * publisher's host becomes a subdomain of the cache, and its scheme, host and
 * path move into the cache's path:
 * `https://broker.example/amp/client/…` with cache `https://cdn.ampproject.org/`
 * → `https://broker-example.cdn.ampproject.org/c/s/broker.example/amp/client/…`.
 */

import { createHash } from "node:crypto";
import { domainToASCII, domainToUnicode } from "node:url";

/** A URL the AMP cache cannot proxy. */
export class AmpCacheUrlError extends Error {
  override name = "AmpCacheUrlError";
}

const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** The cache subdomain for `domain`: the readable form, else the SHA-256 fallback. */
export function ampDomainPrefix(domain: string): string {
  return readablePrefix(domain) ?? ampFallbackPrefix(domain);
}

/** `-` doubled, `.` to `-`, `0-…-0` when positions 3–4 are `--`, IDNA ASCII; null when not usable. */
function readablePrefix(domain: string): string | null {
  const unicode = domainToUnicode(domain);
  if (unicode === "") return null;
  let prefix = unicode.replaceAll("-", "--").replaceAll(".", "-");
  if (prefix[2] === "-" && prefix[3] === "-") prefix = `0-${prefix}-0`;
  const ascii = domainToASCII(prefix);
  if (ascii === "" || ascii.length > 63) return null;
  return ascii;
}

/** Lowercase unpadded base32 of SHA-256 of the domain (52 characters). */
export function ampFallbackPrefix(domain: string): string {
  const digest = createHash("sha256").update(domain).digest();
  let bits = 0, value = 0, out = "";
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Rewrites `publisher` to its form on the AMP cache at `cache`; `contentType` is `c` for documents. */
export function ampCacheUrl(publisher: URL, cache: URL, contentType = "c"): URL {
  if (publisher.protocol !== "https:" && publisher.protocol !== "http:") {
    throw new AmpCacheUrlError(`AMP cache: publisher URL scheme ${publisher.protocol} is not http or https`);
  }
  if (publisher.username || publisher.password) {
    throw new AmpCacheUrlError("AMP cache: publisher URL has userinfo");
  }
  if (publisher.port !== "") throw new AmpCacheUrlError("AMP cache: publisher URL has a non-default port");
  if (cache.search || cache.hash) throw new AmpCacheUrlError("AMP cache: cache URL has a query or fragment");
  const host = `${ampDomainPrefix(publisher.hostname)}.${cache.hostname}${
    cache.port ? `:${cache.port}` : ""
  }`;
  const segments = [cache.pathname, contentType];
  if (publisher.protocol === "https:") segments.push("s");
  segments.push(publisher.hostname, publisher.pathname);
  // Go's path.Join: duplicate slashes collapse and a trailing slash goes.
  const path = ("/" + segments.join("/")).replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1");
  const out = new URL(`${cache.protocol}//${host}`);
  out.pathname = path;
  out.search = publisher.search;
  out.hash = publisher.hash;
  return out;
}
