/**
 * Country lookups from tor's geoip files (Debian `tor-geoipdb`:
 * /usr/share/tor/geoip and geoip6), for the broker's per-country proxy
 * counts (SNOWFLAKE-PROTOCOL.md §4.10). Formats: `#` comments; IPv4 lines
 * `LOW,HIGH,CC` with addresses as decimal integers; IPv6 lines `LOW,HIGH,CC`
 * with textual addresses. Ranges are sorted and disjoint; lookups are binary
 * searches over typed arrays (about 14 MB for both Debian files).
 */

/** A geoip file that cannot be read. */
export class GeoipError extends Error {
  override name = "GeoipError";
}

/** Country code reported for an address outside every range (Go's `??`). */
export const UNKNOWN_COUNTRY = "??";

export class GeoipTable {
  readonly #countries: string[] = [];
  readonly #v4Low: Uint32Array;
  readonly #v4High: Uint32Array;
  readonly #v4Country: Uint16Array;
  /** IPv6 bounds as 4 big-endian 32-bit words per address. */
  readonly #v6Low: Uint32Array;
  readonly #v6High: Uint32Array;
  readonly #v6Country: Uint16Array;

  /** Parses the two files' text; either may be empty. Throws {@link GeoipError} naming the bad line. */
  constructor(geoipText: string, geoip6Text: string) {
    const index = new Map<string, number>();
    const countryIndex = (cc: string) => {
      let i = index.get(cc);
      if (i === undefined) {
        i = this.#countries.length;
        this.#countries.push(cc);
        index.set(cc, i);
      }
      return i;
    };

    let capacity = countLines(geoipText);
    let low = new Uint32Array(capacity);
    let high = new Uint32Array(capacity);
    let country = new Uint16Array(capacity);
    let n = 0;
    forEachDataLine(geoipText, (line, number) => {
      const [lo, hi, cc] = line.split(",");
      const l = parseDecimal(lo);
      const h = parseDecimal(hi);
      if (l === undefined || h === undefined || h < l || !cc) {
        throw new GeoipError(`geoip line ${number}: ${line}`);
      }
      low[n] = l;
      high[n] = h;
      country[n++] = countryIndex(cc.trim());
    });
    this.#v4Low = low.slice(0, n);
    this.#v4High = high.slice(0, n);
    this.#v4Country = country.slice(0, n);

    capacity = countLines(geoip6Text);
    low = new Uint32Array(capacity * 4);
    high = new Uint32Array(capacity * 4);
    country = new Uint16Array(capacity);
    n = 0;
    forEachDataLine(geoip6Text, (line, number) => {
      const [lo, hi, cc] = line.split(",");
      if (!cc || !parseIpv6Into(lo, low, n * 4) || !parseIpv6Into(hi, high, n * 4)) {
        throw new GeoipError(`geoip6 line ${number}: ${line}`);
      }
      country[n++] = countryIndex(cc.trim());
    });
    this.#v6Low = low.slice(0, n * 4);
    this.#v6High = high.slice(0, n * 4);
    this.#v6Country = country.slice(0, n);
  }

  /** Reads and parses the files; throws {@link GeoipError} when one cannot be read or parsed. */
  static async load(geoipPath: string, geoip6Path: string): Promise<GeoipTable> {
    const read = async (path: string) => {
      try {
        return await Deno.readTextFile(path);
      } catch (error) {
        throw new GeoipError(`cannot read ${path}: ${(error as Error).message}`);
      }
    };
    return new GeoipTable(await read(geoipPath), await read(geoip6Path));
  }

  /** Number of IPv4 and IPv6 ranges. */
  get size(): { v4: number; v6: number } {
    return { v4: this.#v4Country.length, v6: this.#v6Country.length };
  }

  /** The country code of an IPv4 or IPv6 address (IPv4-mapped IPv6 counts as IPv4), or `??`. */
  country(address: string): string {
    const v4 = parseIpv4(address.startsWith("::ffff:") ? address.slice(7) : address);
    if (v4 !== undefined) return this.#lookupV4(v4);
    const v6 = parseIpv6(address);
    return v6 ? this.#lookupV6(v6) : UNKNOWN_COUNTRY;
  }

  #lookupV4(ip: number): string {
    let lo = 0;
    let hi = this.#v4Low.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (ip < this.#v4Low[mid]) hi = mid - 1;
      else if (ip > this.#v4High[mid]) lo = mid + 1;
      else return this.#countries[this.#v4Country[mid]];
    }
    return UNKNOWN_COUNTRY;
  }

  #lookupV6(ip: Uint32Array): string {
    let lo = 0;
    let hi = this.#v6Country.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(ip, this.#v6Low, mid * 4) < 0) hi = mid - 1;
      else if (compare(ip, this.#v6High, mid * 4) > 0) lo = mid + 1;
      else return this.#countries[this.#v6Country[mid]];
    }
    return UNKNOWN_COUNTRY;
  }
}

function countLines(text: string): number {
  let count = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

function forEachDataLine(text: string, visit: (line: string, number: number) => void): void {
  let number = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    number++;
    const first = text.charCodeAt(start);
    if (end > start && first !== 0x23 /* # */) {
      const line = text.slice(start, end).trim();
      if (line !== "") visit(line, number);
    }
    start = end + 1;
  }
}

function parseDecimal(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= 0xffffffff ? value : undefined;
}

function compare(ip: Uint32Array, table: Uint32Array, offset: number): number {
  for (let i = 0; i < 4; i++) {
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
