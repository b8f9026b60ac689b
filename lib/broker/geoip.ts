/**
 * Country lookups from tor's geoip files (Debian `tor-geoipdb`:
 * /usr/share/tor/geoip and geoip6), for the broker's per-country proxy
 * counts (SNOWFLAKE-PROTOCOL.md §4.10). Formats: `#` comments; IPv4 lines
 * `LOW,HIGH,CC` with addresses as decimal integers; IPv6 lines `LOW,HIGH,CC`
 * with textual addresses. Ranges must be sorted and disjoint (tor's are).
 *
 * Memory: the files are 25 MB of text, so they are parsed as bytes (no
 * per-line strings, no file-sized string) and kept as boundaries: each
 * range's first address with its country, and an entry without a country
 * where a gap starts. Debian's files take about 8 MB this way (reading them
 * as text into low/high arrays left the broker about 65 MB larger), and the
 * buffers used while loading are released at once rather than at some later
 * garbage collection.
 */

import { errorMessage } from "../util/errors.ts";

/** A geoip file that cannot be read. */
export class GeoipError extends Error {
  override name = "GeoipError";
}

/** Country code reported for an address outside every range (Go's `??`). */
export const UNKNOWN_COUNTRY = "??";

/** Country index of a boundary that starts a gap. */
const NO_COUNTRY = 0xffff;

/** Sorted boundaries: `words` 32-bit words per start address, big-endian. */
interface Boundaries {
  starts: Uint32Array;
  countries: Uint16Array;
  ranges: number;
}

export class GeoipTable {
  readonly #countries: string[] = [];
  readonly #v4: Boundaries;
  readonly #v6: Boundaries;

  /**
   * Parses the two files' contents (bytes as read, or text); either may be
   * empty. Throws {@link GeoipError} naming the bad line.
   */
  constructor(geoip: Uint8Array | string, geoip6: Uint8Array | string) {
    const index = new Map<string, number>();
    const countryIndex = (cc: string) => {
      let i = index.get(cc);
      if (i === undefined) {
        i = this.#countries.length;
        if (i >= NO_COUNTRY) throw new GeoipError(`more than ${NO_COUNTRY} country codes`);
        this.#countries.push(cc);
        index.set(cc, i);
      }
      return i;
    };
    this.#v4 = parseRanges(asBytes(geoip), 1, "geoip", countryIndex);
    this.#v6 = parseRanges(asBytes(geoip6), 4, "geoip6", countryIndex);
  }

  /** Reads and parses the files; throws {@link GeoipError} when one cannot be read or parsed. */
  static async load(geoipPath: string, geoip6Path: string): Promise<GeoipTable> {
    const read = async (path: string) => {
      try {
        return await Deno.readFile(path);
      } catch (error) {
        throw new GeoipError(`cannot read ${path}: ${errorMessage(error)}`);
      }
    };
    const geoip = await read(geoipPath);
    const geoip6 = await read(geoip6Path);
    try {
      return new GeoipTable(geoip, geoip6);
    } finally {
      // 25 MB of text: free it now, not at the next full garbage collection (which an idle broker may not see).
      geoip.buffer.transfer(0);
      geoip6.buffer.transfer(0);
    }
  }

  /** Number of IPv4 and IPv6 ranges. */
  get size(): { v4: number; v6: number } {
    return { v4: this.#v4.ranges, v6: this.#v6.ranges };
  }

  /** Bytes held by the lookup tables. */
  get byteLength(): number {
    return [this.#v4, this.#v6].reduce((sum, t) => sum + t.starts.byteLength + t.countries.byteLength, 0);
  }

  /** The country code of an IPv4 or IPv6 address (IPv4-mapped IPv6 counts as IPv4), or `??`. */
  country(address: string): string {
    const v4 = parseIpv4(address.startsWith("::ffff:") ? address.slice(7) : address);
    if (v4 !== undefined) return this.#lookup(this.#v4, Uint32Array.of(v4));
    const v6 = parseIpv6(address);
    return v6 ? this.#lookup(this.#v6, v6) : UNKNOWN_COUNTRY;
  }

  /** The country of the last boundary at or below `ip`. */
  #lookup(table: Boundaries, ip: Uint32Array): string {
    const words = ip.length;
    let lo = 0;
    let hi = table.countries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(ip, table.starts, mid * words, words) < 0) {
        hi = mid - 1;
      } else {
        found = mid;
        lo = mid + 1;
      }
    }
    const country = found < 0 ? NO_COUNTRY : table.countries[found];
    return country === NO_COUNTRY ? UNKNOWN_COUNTRY : this.#countries[country];
  }
}

const encoder = new TextEncoder();

function asBytes(input: Uint8Array | string): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

/**
 * Parses one file into boundaries: `words` is 1 for IPv4 (decimal
 * addresses), 4 for IPv6 (textual addresses).
 */
function parseRanges(
  bytes: Uint8Array,
  words: 1 | 4,
  name: string,
  countryIndex: (cc: string) => number,
): Boundaries {
  // At most one range per line, and one gap before each range plus one after the last.
  const capacity = 2 * countLines(bytes) + 1;
  let starts = new Uint32Array(capacity * words);
  let countries = new Uint16Array(capacity);
  let n = 0;
  let ranges = 0;
  const low = new Uint32Array(words);
  const high = new Uint32Array(words);
  /** The address after the previous range's high end; `hasNext` is false before the first range and past the top. */
  const next = new Uint32Array(words);
  let hasNext = false;
  let number = 0;
  for (let start = 0; start < bytes.length;) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    number++;
    const lineStart = start;
    start = end + 1;
    if (bytes[lineStart] === 0x23 /* # */) continue;
    let a = lineStart;
    let b = end;
    while (a < b && bytes[a] <= 0x20) a++;
    while (b > a && bytes[b - 1] <= 0x20) b--;
    if (a === b) continue;
    const c1 = indexOf(bytes, 0x2c, a, b);
    const c2 = c1 < 0 ? -1 : indexOf(bytes, 0x2c, c1 + 1, b);
    if (c2 < 0) throw badLine(name, number, bytes, a, b);
    let c3 = indexOf(bytes, 0x2c, c2 + 1, b);
    if (c3 < 0) c3 = b;
    let ccStart = c2 + 1;
    let ccEnd = c3;
    while (ccStart < ccEnd && bytes[ccStart] <= 0x20) ccStart++;
    while (ccEnd > ccStart && bytes[ccEnd - 1] <= 0x20) ccEnd--;
    if (ccStart === ccEnd) throw badLine(name, number, bytes, a, b);
    const parsed = words === 1
      ? parseDecimalInto(bytes, a, c1, low) && parseDecimalInto(bytes, c1 + 1, c2, high)
      : parseIpv6Into(latin1(bytes, a, c1), low, 0) && parseIpv6Into(latin1(bytes, c1 + 1, c2), high, 0);
    if (!parsed || compare(high, low, 0, words) < 0) throw badLine(name, number, bytes, a, b);
    if (ranges > 0 && (!hasNext || compare(low, next, 0, words) < 0)) {
      throw new GeoipError(`${name} line ${number}: ranges are not sorted or overlap`);
    }
    if (hasNext && compare(low, next, 0, words) > 0) {
      // A gap between the previous range and this one.
      starts.set(next, n * words);
      countries[n++] = NO_COUNTRY;
    }
    starts.set(low, n * words);
    countries[n++] = countryIndex(latin1(bytes, ccStart, ccEnd));
    ranges++;
    next.set(high);
    hasNext = increment(next);
  }
  if (hasNext) {
    starts.set(next, n * words);
    countries[n++] = NO_COUNTRY;
  }
  // Shrink to size, freeing the spare capacity now.
  starts = new Uint32Array(starts.buffer.transfer(n * words * 4));
  countries = new Uint16Array(countries.buffer.transfer(n * 2));
  return { starts, countries, ranges };
}

function badLine(name: string, number: number, bytes: Uint8Array, from: number, to: number): GeoipError {
  return new GeoipError(`${name} line ${number}: ${latin1(bytes, from, to)}`);
}

/** Adds 1 to `address` in place; false when it wrapped past the top of its address space. */
function increment(address: Uint32Array): boolean {
  for (let i = address.length - 1; i >= 0; i--) {
    address[i] = (address[i] + 1) >>> 0;
    if (address[i] !== 0) return true;
  }
  return false;
}

function countLines(bytes: Uint8Array): number {
  let count = 1;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) count++;
  return count;
}

function indexOf(bytes: Uint8Array, byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (bytes[i] === byte) return i;
  return -1;
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/** A decimal IPv4 address of 1–10 digits into `out[0]`; false when malformed or over 32 bits. */
function parseDecimalInto(bytes: Uint8Array, from: number, to: number, out: Uint32Array): boolean {
  if (to <= from || to - from > 10) return false;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return false;
    value = value * 10 + d;
  }
  if (value > 0xffffffff) return false;
  out[0] = value;
  return true;
}

function compare(ip: Uint32Array, table: Uint32Array, offset: number, words: number): number {
  for (let i = 0; i < words; i++) {
    const d = ip[i] - table[offset + i];
    if (d !== 0) return d;
  }
  return 0;
}

/** Dotted-quad IPv4 as an unsigned integer, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/** Textual IPv6 (with `::` and an optional embedded IPv4 tail) as 4 big-endian words, or undefined. */
export function parseIpv6(text: string): Uint32Array | undefined {
  const out = new Uint32Array(4);
  return parseIpv6Into(text, out, 0) ? out : undefined;
}

/** Parses textual IPv6 into `out[offset..offset+4]`; false when malformed. */
function parseIpv6Into(text: string | undefined, out: Uint32Array, offset: number): boolean {
  if (text === undefined || text.length < 2 || text.length > 45) return false;
  const groups = new Array<number>(8);
  let count = 0;
  let gap = -1; // index in groups where "::" stands
  let i = 0;
  if (text.startsWith("::")) {
    gap = 0;
    i = 2;
  }
  while (i < text.length) {
    if (count === 8) return false;
    let value = 0;
    let digits = 0;
    const start = i;
    for (; i < text.length && digits <= 4; i++) {
      const c = text.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      value = value * 16 + d;
      digits++;
    }
    if (i < text.length && text[i] === ".") {
      // Embedded IPv4 tail: the last 32 bits.
      const v4 = parseIpv4(text.slice(start));
      if (v4 === undefined || count > 6) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = text.length;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[count++] = value;
    if (i === text.length) break;
    if (text[i] !== ":") return false;
    i++;
    if (text[i] === ":") {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === text.length) {
      return false; // trailing single colon
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  const zeros = 8 - count;
  for (let g = 0, k = 0; g < 8; g++) {
    let word: number;
    if (gap >= 0 && g >= gap && g < gap + zeros) word = 0;
    else word = groups[k++];
    if (g % 2 === 0) out[offset + (g >> 1)] = word << 16;
    else out[offset + (g >> 1)] = (out[offset + (g >> 1)] | word) >>> 0;
  }
  return true;
}
