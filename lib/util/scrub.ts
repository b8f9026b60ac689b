/**
 * IP-address scrubbing for logs, as Go Snowflake's `common/safelog` does it
 * (SNOWFLAKE-PROTOCOL.md §7.9): IPv4 and IPv6 addresses, with an optional
 * `:port`, and IPv6 written with `%3a` colons (2.5.1), become `[scrubbed]`.
 * Times like `12:34:56` and versions like `2.5.1` survive.
 *
 * An address must not sit inside a run of `:`-joined words, or a DTLS
 * fingerprint (`AB:CD:…`) would lose a stretch of itself. safelog applies that
 * rule to any colon, so it keeps `stun:192.0.2.1:3478`; we also take an address
 * right after a `scheme:` or `key:` word with a letter no hex digit has (g–z),
 * which no fingerprint or IPv6 group contains.
 */

const COLON = "(?::|%3[aA])";
const IPV4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const HEX = "[0-9a-fA-F]{0,4}";
const IPV6_FULL = `(?:${HEX}${COLON}){5,7}${HEX}`;
const IPV6_COMPRESSED =
  `(?:${HEX}${COLON}){0,6}${HEX}${COLON}${COLON}(?:${HEX}${COLON}){0,6}(?:${IPV4}|${HEX})`;
const IPV6 = `(?:${IPV6_COMPRESSED}|${IPV6_FULL})`;
const ADDRESS = `(?:\\[${IPV6}\\]|${IPV6}|${IPV4})(?::\\d{1,5})?`;
const BEFORE = String.raw`((?<=[g-zG-Z_][\w+.-]*:)|^|[^\w:])`;
// A colon after the address ends it unless it joins on to another word (`:80`
// was taken as the port; `1.2.3.4:x` is something else).
const AFTER = String.raw`(?=[^\w:]|:(?![\w:])|$)`;

const ADDRESS_PATTERN = new RegExp(`${BEFORE}${ADDRESS}${AFTER}`, "gm");

/** The text that replaces each address. */
export const SCRUBBED = "[scrubbed]";

/** Replaces every IP address (and port) in `text` with `[scrubbed]`. */
export function scrubAddresses(text: string): string {
  return text.replace(ADDRESS_PATTERN, (_match, before: string) => `${before}${SCRUBBED}`);
}
