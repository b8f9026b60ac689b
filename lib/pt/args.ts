/**
 * Key–value arguments of the PT protocol (SNOWFLAKE-PROTOCOL.md §9.7–9.8), as
 * goptlib encodes and parses them:
 * - `TOR_PT_SERVER_TRANSPORT_OPTIONS`: `method:key=value` items joined by `;`,
 *   with `\` escaping the next byte (tor escapes `\ : ; =`);
 * - the `ARGS:` of an `SMETHOD` line: `key=value` pairs sorted by key, joined
 *   by `,`, with `\ = ,` backslash-escaped;
 * - client parameters in SOCKS credentials: `key=value` pairs joined by `;`.
 * Parse errors carry goptlib's wording.
 */

/** A key → values map (goptlib's `Args`); values of a repeated key keep their order. */
export class PtArgs extends Map<string, string[]> {
  /** Appends `value` to `key`'s values. */
  add(key: string, value: string): this {
    const values = this.get(key);
    if (values) values.push(value);
    else this.set(key, [value]);
    return this;
  }
  /** The first value of `key`, or undefined (goptlib's `Get`). */
  first(key: string): string | undefined {
    return this.get(key)?.[0];
  }
}

/** A malformed argument string; the message is goptlib's. */
export class PtArgsError extends Error {
  override name = "PtArgsError";
}

/** Index of the next unescaped byte of `terms` in `s` from `start` (or s.length), and the unescaped text before it. */
function indexUnescaped(s: string, start: number, terms: string): [number, string] {
  let out = "";
  let i = start;
  for (; i < s.length; i++) {
    let c = s[i];
    if (terms.includes(c)) break;
    if (c === "\\") {
      i++;
      if (i >= s.length) {
        throw new PtArgsError(`nothing following final escape in ${goQuote(s.slice(start))}`);
      }
      c = s[i];
    }
    out += c;
  }
  return [i, out];
}

/** Go's `%q` for the ASCII strings these errors quote. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Parses `TOR_PT_SERVER_TRANSPORT_OPTIONS` into method → arguments. */
export function parseServerTransportOptions(s: string): Map<string, PtArgs> {
  const options = new Map<string, PtArgs>();
  if (s.length === 0) return options;
  let i = 0;
  for (;;) {
    const begin = i;
    let method: string, key: string, value: string;
    [i, method] = indexUnescaped(s, i, ":=;");
    if (i >= s.length || s[i] !== ":") throw new PtArgsError(`no colon in ${goQuote(s.slice(begin, i))}`);
    [i, key] = indexUnescaped(s, i + 1, "=;");
    if (i >= s.length || s[i] !== "=") {
      throw new PtArgsError(`no equals sign in ${goQuote(s.slice(begin, i))}`);
    }
    [i, value] = indexUnescaped(s, i + 1, ";");
    if (method.length === 0) throw new PtArgsError(`empty method name in ${goQuote(s.slice(begin, i))}`);
    if (key.length === 0) throw new PtArgsError(`empty key in ${goQuote(s.slice(begin, i))}`);
    let args = options.get(method);
    if (!args) options.set(method, args = new PtArgs());
    args.add(key, value);
    if (i >= s.length) return options;
    i++; // the semicolon
  }
}

/** Parses client parameters (`key=value;...`, from SOCKS username and password). */
export function parseClientParameters(s: string): PtArgs {
  const args = new PtArgs();
  if (s.length === 0) return args;
  let i = 0;
  for (;;) {
    const begin = i;
    let key: string, value: string;
    [i, key] = indexUnescaped(s, i, "=;");
    if (i >= s.length || s[i] !== "=") {
      throw new PtArgsError(`no equals sign in ${goQuote(s.slice(begin, i))}`);
    }
    [i, value] = indexUnescaped(s, i + 1, ";");
    if (key.length === 0) throw new PtArgsError(`empty key in ${goQuote(s.slice(begin, i))}`);
    args.add(key, value);
    if (i >= s.length) return args;
    i++; // the semicolon
  }
}

/** Encodes arguments for an `SMETHOD … ARGS:` value (without the `ARGS:` prefix). */
export function encodeSmethodArgs(args: PtArgs): string {
  const escape = (text: string) => text.replace(/[\\=,]/g, (c) => "\\" + c);
  const pairs: string[] = [];
  for (const key of [...args.keys()].sort()) {
    for (const value of args.get(key)!) pairs.push(`${escape(key)}=${escape(value)}`);
  }
  return pairs.join(",");
}
