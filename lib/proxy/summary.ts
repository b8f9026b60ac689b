/**
 * The operator's summary line every `-summary-interval`, in Go 2.5.1's
 * wording (`proxy/lib/pt_event_logger.go`): `In the last 1h0m0s, there were 3
 * connections. Traffic Relayed ↑ 120 KB, ↓ 45 KB.` KB are bytes / 1000,
 * rounded down. As in Go, ↑ counts bytes sent to clients (Go's "inbound":
 * from the relay) and ↓ bytes received from clients; a connection counts
 * when its data channel had opened, at its end.
 */

import { formatDuration } from "../util/flags.ts";
import type { ClientClosedDetail } from "./events.ts";

export interface SummaryTotals {
  connections: number;
  bytesToClients: number;
  bytesFromClients: number;
}

/** Adds up ended connections between two summary lines. */
export class SummaryCounter {
  #totals: SummaryTotals = { connections: 0, bytesToClients: 0, bytesFromClients: 0 };

  add(closed: ClientClosedDetail): void {
    if (!closed.connected) return;
    this.#totals.connections++;
    this.#totals.bytesToClients += closed.bytesToClient;
    this.#totals.bytesFromClients += closed.bytesFromClient;
  }

  /** The totals since the last call, and a fresh start. */
  take(): SummaryTotals {
    const totals = this.#totals;
    this.#totals = { connections: 0, bytesToClients: 0, bytesFromClients: 0 };
    return totals;
  }
}

export function formatSummary(intervalMs: number, totals: SummaryTotals): string {
  const kb = (bytes: number) => Math.floor(bytes / 1000);
  return `In the last ${formatDuration(intervalMs)}, there were ${totals.connections} connections. ` +
    `Traffic Relayed ↑ ${kb(totals.bytesToClients)} KB, ↓ ${kb(totals.bytesFromClients)} KB.`;
}
