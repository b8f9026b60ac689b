/**
 * The periodic metrics log (SNOWFLAKE-PROTOCOL.md §4.10): every period
 * (a day) the CollecTor block is appended to `--metrics-log` (stdout without
 * one, as Go does) and the period's counts start over.
 */

import { formatCollectorStats, METRICS_PERIOD_SECONDS } from "./collector_stats.ts";
import type { BrokerMetrics } from "./metrics.ts";

export class MetricsLog {
  readonly #metrics: BrokerMetrics;
  readonly #write: (text: string) => void;
  readonly #periodSeconds: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(metrics: BrokerMetrics, write: (text: string) => void, periodSeconds = METRICS_PERIOD_SECONDS) {
    this.#metrics = metrics;
    this.#write = write;
    this.#periodSeconds = periodSeconds;
  }

  /** Writes the block for the period ending `now` and starts a new period. */
  flush(now: Date = new Date()): void {
    this.#write(formatCollectorStats(this.#metrics, now, this.#periodSeconds));
    this.#metrics.resetPeriod();
  }

  /** Flushes every period until {@link stop}. */
  start(): void {
    this.stop();
    this.#timer = setInterval(() => this.flush(), this.#periodSeconds * 1000);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
