/**
 * The lines a managed transport writes to tor on stdout (SNOWFLAKE-PROTOCOL.md
 * §9.2–9.5): `VERSION`, `ENV-ERROR`, `CMETHOD`/`SMETHOD` and their `-ERROR` and
 * `DONE` forms, `PROXY DONE`/`PROXY-ERROR`, `LOG` and `STATUS TYPE=version`.
 *
 * A line is `<Keyword>[ <Arg>]*`; keywords are ASCII letters, digits, `-` and
 * `_`; arguments are bytes below 0x80 other than NUL and LF. goptlib panics on
 * anything else; we refuse bad keywords (a programming error) and replace bad
 * bytes in free-text arguments with `?`, since those often quote user input.
 */

/** Writes one line (without its newline) to tor. */
export type PtLineSink = (line: string) => void;

/** `LOG SEVERITY=` values (pt-spec). */
export type PtLogSeverity = "error" | "warning" | "notice" | "info" | "debug";

const KEYWORD = /^[0-9A-Za-z_-]+$/;

/** Formats `keyword args...` as one line; throws RangeError on a bad keyword. */
export function formatPtLine(keyword: string, ...args: string[]): string {
  if (!KEYWORD.test(keyword)) {
    throw new RangeError(`PT keyword ${JSON.stringify(keyword)} has forbidden bytes`);
  }
  return [keyword, ...args.map(safeArg)].join(" ");
}

/** Replaces bytes tor's line parser does not take (≥ 0x80, NUL, LF) with `?`. */
function safeArg(arg: string): string {
  // deno-lint-ignore no-control-regex
  return arg.replace(/[^\x01-\x09\x0b-\x7f]/g, "?");
}

/**
 * goptlib's `encodeCString`: a double-quoted string in which bytes other than
 * 0x20, 0x21, 0x23–0x5B and 0x5D–0x7E of the UTF-8 encoding become `\` and three
 * octal digits. `hello "x"` → `"hello \042x\042"`.
 */
export function encodeCString(text: string): string {
  let out = '"';
  for (const byte of new TextEncoder().encode(text)) {
    const plain = byte === 0x20 || byte === 0x21 || (byte >= 0x23 && byte <= 0x5b) ||
      (byte >= 0x5d && byte <= 0x7e);
    out += plain ? String.fromCharCode(byte) : "\\" + byte.toString(8).padStart(3, "0");
  }
  return out + '"';
}

/** The managed-proxy messages, written through a line sink (stdout for a real transport). */
export class PtMessages {
  readonly #sink: PtLineSink;

  constructor(sink: PtLineSink) {
    this.#sink = sink;
  }

  #line(keyword: string, ...args: string[]): void {
    this.#sink(formatPtLine(keyword, ...args));
  }

  /** `VERSION 1`: the first line, both sides. */
  version(version = "1"): void {
    this.#line("VERSION", version);
  }
  /** `VERSION-ERROR no-version`: tor offered no version we speak. */
  versionError(message = "no-version"): void {
    this.#line("VERSION-ERROR", message);
  }
  /** `ENV-ERROR <message>`: a missing or malformed TOR_PT_* variable. */
  envError(message: string): void {
    this.#line("ENV-ERROR", message);
  }
  /** `STATUS TYPE=version IMPLEMENTATION="…" VERSION="…"` (pt-spec; what goptlib's ReportVersion writes). */
  statusVersion(implementation: string, version: string): void {
    this.#line(
      "STATUS",
      "TYPE=version",
      `IMPLEMENTATION=${encodeCString(implementation)}`,
      `VERSION=${encodeCString(version)}`,
    );
  }
  /** `LOG SEVERITY=<severity> MESSAGE="<cstring>"`. */
  log(severity: PtLogSeverity, message: string): void {
    this.#line("LOG", `SEVERITY=${severity}`, `MESSAGE=${encodeCString(message)}`);
  }

  /** `SMETHOD <name> <addr>[ ARGS:<args>]`; `args` already encoded (see encodeSmethodArgs). */
  smethod(name: string, addr: string, args?: string): void {
    if (args === undefined) this.#line("SMETHOD", name, addr);
    else this.#line("SMETHOD", name, addr, `ARGS:${args}`);
  }
  smethodError(name: string, message: string): void {
    this.#line("SMETHOD-ERROR", name, message);
  }
  smethodsDone(): void {
    this.#line("SMETHODS", "DONE");
  }

  /** `CMETHOD <name> socks5 <addr>`. */
  cmethod(name: string, addr: string, protocol = "socks5"): void {
    this.#line("CMETHOD", name, protocol, addr);
  }
  cmethodError(name: string, message: string): void {
    this.#line("CMETHOD-ERROR", name, message);
  }
  cmethodsDone(): void {
    this.#line("CMETHODS", "DONE");
  }

  proxyDone(): void {
    this.#line("PROXY", "DONE");
  }
  proxyError(message: string): void {
    this.#line("PROXY-ERROR", message);
  }
}

/** A sink that writes each line to stdout at once (tor reads them as they come; goptlib syncs after each). */
export const stdoutPtSink: PtLineSink = (line) => {
  const bytes = new TextEncoder().encode(line + "\n");
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stdout.writeSync(bytes.subarray(offset));
};
