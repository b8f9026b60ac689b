/**
 * Keeps bad input from flooding the log: at most `burst` lines per kind of
 * event per `windowMs`; the rest are counted, and the first line of the next
 * window says how many were suppressed. Sans-I/O: the caller passes `now`.
 */

import type { Logger } from "../../util/log.ts";

export const LOG_LIMIT_BURST = 10;
export const LOG_LIMIT_WINDOW_MS = 60_000;

interface Window {
  start: number;
  lines: number;
  suppressed: number;
}

export class LogLimiter {
  readonly #windows = new Map<string, Window>();

  constructor(
    readonly logger: Logger,
    readonly burst = LOG_LIMIT_BURST,
    readonly windowMs = LOG_LIMIT_WINDOW_MS,
  ) {}

  /** Logs `message` at info level unless `kind` has used its lines for this window. */
  info(kind: string, message: string, now: number): void {
    let window = this.#windows.get(kind);
    if (!window || now - window.start >= this.windowMs) {
      if (window?.suppressed) {
        this.logger.info(
          `(${window.suppressed} more "${kind}" lines suppressed in the last ${this.windowMs / 1000} s)`,
        );
      }
      window = { start: now, lines: 0, suppressed: 0 };
      this.#windows.set(kind, window);
    }
    if (window.lines < this.burst) {
      window.lines++;
      this.logger.info(message);
    } else {
      window.suppressed++;
    }
  }
}
