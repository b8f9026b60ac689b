/**
 * The logger every role uses. Lines are `YYYY/MM/DD HH:MM:SS message` in UTC, as
 * Go's `log` package writes them, and pass through {@link scrubAddresses} unless
 * the logger was made with `unsafeLogging` (Go Snowflake's `-unsafe-logging`).
 * The sink is a function, so a role can write to stderr, a file, tor's PT `LOG`
 * channel, or nowhere (a Go Snowflake client logs nothing by default).
 */

import { scrubAddresses } from "./scrub.ts";

/** Severity, lowest first. `debug` lines appear only when the logger is verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Where formatted lines go. Each call gets one line without its newline. */
export type LogSink = (line: string, level: LogLevel) => void;

/** How a {@link Logger} filters and scrubs. */
export interface LoggerOptions {
  /** Keep IP addresses in log lines (`-unsafe-logging`). Default false. */
  unsafeLogging?: boolean;
  /** Print `debug` lines (`-verbose`). Default false. */
  verbose?: boolean;
  /** Prefix for every line, e.g. `"server: "`. */
  prefix?: string;
}

/**
 * Timestamped log lines to a sink, with IP addresses scrubbed unless `unsafeLogging` (Go Snowflake's log scrubber).
 *
 * ```ts
 * const log = new Logger(stderrSink, { verbose: true });
 * log.info("client 192.0.2.1:4000 connected"); // "client [scrubbed] connected"
 * ```
 */
export class Logger {
  readonly #sink: LogSink;
  readonly #unsafe: boolean;
  readonly #verbose: boolean;
  readonly #prefix: string;

  /** Writes to `sink`; see {@link LoggerOptions}. */
  constructor(sink: LogSink, options: LoggerOptions = {}) {
    this.#sink = sink;
    this.#unsafe = options.unsafeLogging ?? false;
    this.#verbose = options.verbose ?? false;
    this.#prefix = options.prefix ?? "";
  }

  /** A logger that writes to the same sink with another prefix. */
  child(prefix: string): Logger {
    return new Logger(this.#sink, {
      unsafeLogging: this.#unsafe,
      verbose: this.#verbose,
      prefix: this.#prefix + prefix,
    });
  }

  /** Whether debug lines are written. */
  get verbose(): boolean {
    return this.#verbose;
  }

  /** Written only when `verbose`. */
  debug(message: string): void {
    if (this.#verbose) this.#write("debug", message);
  }
  /** A normal event. */
  info(message: string): void {
    this.#write("info", message);
  }
  /** Something went wrong and was handled. */
  warn(message: string): void {
    this.#write("warn", message);
  }
  /** Something went wrong that stops a part from working. */
  error(message: string): void {
    this.#write("error", message);
  }

  #write(level: LogLevel, message: string): void {
    const text = this.#unsafe ? message : scrubAddresses(message);
    for (const line of text.split("\n")) {
      this.#sink(`${formatTimestamp(new Date())} ${this.#prefix}${line}`, level);
    }
  }
}

/** `2026/11/25 12:00:00`, UTC, the layout of Go's `log` with `LUTC`. */
export function formatTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getUTCFullYear()}/${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
}

/** A sink that writes lines to stderr. */
export const stderrSink: LogSink = (line) => {
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
};

/** A sink that drops everything. */
export const nullSink: LogSink = () => {};

/** A sink that appends to `path` (created if missing), as Go Snowflake's `-log FILE`. */
export function fileSink(path: string): LogSink {
  const file = Deno.openSync(path, { append: true, create: true, write: true });
  const encoder = new TextEncoder();
  return (line) => {
    file.writeSync(encoder.encode(line + "\n"));
  };
}
