/**
 * The server's log lines about connections, written from its typed events
 * (events.ts), rate-limited per kind by the {@link LogLimiter}: what happened
 * and what was done. Clean ends (a spare proxy that closes unused, a client
 * that leaves) are not logged, as in Go.
 */

import type { Clock } from "../../util/clock.ts";
import type { CarrierClosedDetail, ServerEvents, UpgradeFailedDetail } from "./events.ts";
import type { LogLimiter } from "./log_limiter.ts";

/** The line for an upgrade that failed, with its rate-limit kind; null when not worth a line. */
export function upgradeFailureLine(detail: UpgradeFailedDetail): [kind: string, line: string] | null {
  switch (detail.reason) {
    case "pending-limit":
      return ["upgrade-limit", `refusing connection: ${detail.detail}`];
    case "timeout":
      return ["upgrade-timeout", `closing connection: ${detail.detail}`];
    case "bad-request":
    case "not-websocket":
      return ["http", `answered ${detail.status}: ${detail.detail}`];
    case "connection-limit":
      return ["limit", `refusing WebSocket: ${detail.detail}`];
    case "error":
      return ["upgrade-error", `connection failed before its upgrade: ${detail.detail}`];
    case "abandoned":
      return null;
  }
}

/** The line for a carrier that ended, with its rate-limit kind; null for clean ends. */
export function carrierCloseLine(detail: CarrierClosedDetail): [kind: string, line: string] | null {
  switch (detail.reason) {
    case "no-preamble":
      return ["preamble", `WebSocket ended before its preamble: ${detail.detail}`];
    case "legacy-refused":
      return ["legacy", "received unsupported oneshot connection (legacy mode is disabled)"];
    case "encapsulation":
      return ["encapsulation", `closing WebSocket: ${detail.detail}`];
    case "idle":
    case "write-stall":
      return [
        "carrier",
        `closed ${detail.mode === "legacy" ? "legacy" : "Turbo Tunnel"} WebSocket: ${detail.detail}`,
      ];
    case "protocol-error":
      return ["protocol", `closing WebSocket: ${detail.detail}`];
    case "tor-unreachable":
      return ["tor", `legacy connection: failed to connect to ORPort: ${detail.detail}`];
    case "peer-closed":
      // A proxy that sent part of a preamble and left is worth a line; a spare one that closes unused is not.
      return detail.mode === "none" && detail.bytesFromClient > 0
        ? ["preamble", `WebSocket ended before its preamble: ${detail.detail}`]
        : null;
    case "error":
    case "server-closed":
      return null;
  }
}

/** Logs the server's connection events through `log`. */
export function logServerEvents(events: ServerEvents, log: LogLimiter, clock: Clock): void {
  events.addEventListener("upgradefailed", (e) => {
    const line = upgradeFailureLine(e.detail);
    if (line) log.info(line[0], line[1], clock.now());
  });
  events.addEventListener("carrierclosed", (e) => {
    const line = carrierCloseLine(e.detail);
    if (line) log.info(line[0], line[1], clock.now());
  });
}
