/**
 * What every broker route reads (lib/broker/handler.ts builds it once from
 * its deps, defaults filled in), and the route shapes the handler's wrappers
 * (CORS, body limit) compose.
 */

import { NameMatcher } from "../messages/name_matcher.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { Logger, nullSink } from "../util/log.ts";
import { BridgeList } from "./bridge_list.ts";
import { BrokerEvents } from "./events.ts";
import { BrokerMetrics } from "./metrics.ts";
import type { Rendezvous } from "./rendezvous.ts";
import { READ_LIMIT_BYTES } from "./request_body.ts";

/** The handler's inputs; everything but `rendezvous` has a default. */
export interface BrokerDeps {
  rendezvous: Rendezvous;
  /** Default: the Tor Project's default bridge only. */
  bridges?: BridgeList;
  metrics?: BrokerMetrics;
  logger?: Logger;
  /** The broker's `--allowed-relay-pattern` (only with a bridge list in Go; see cli/broker.ts). */
  allowedRelayPattern?: string;
  /** `--default-relay-pattern`: presumed for proxies that send no `AcceptedRelayPattern`. */
  defaultRelayPattern?: string;
  /** `--metrics-log`: the file /metrics serves; none means 404. */
  metricsLogPath?: string;
  /** Request body bound in bytes (Go `readLimit`). */
  readLimit?: number;
  /** For throttling repeated warnings. */
  clock?: Clock;
  /** Where each poll's outcome is published; default: a new, unread target. */
  events?: BrokerEvents;
}

/** What the handler reads from `Deno.serve`'s second argument. */
export interface RequestInfo {
  remoteAddr?: { hostname?: string };
}

/** The deps with defaults, plus what the routes share. */
export interface RouteContext {
  rendezvous: Rendezvous;
  bridges: BridgeList;
  metrics: BrokerMetrics;
  logger: Logger;
  readLimit: number;
  /** The broker's relay pattern, parsed. */
  brokerPattern: NameMatcher;
  /** Presumed for proxies without a pattern. */
  legacyPattern: string;
  metricsLogPath: string | undefined;
  events: BrokerEvents;
  /** Logs `message` unless a warning of this `kind` was logged in the last 10 s. */
  warnThrottled(kind: string, message: string): void;
}

/** One route's function; a held poll's promise is returned chained, not awaited. */
export type Route = (request: Request, info?: RequestInfo) => Promise<Response> | Response;
/** A route that needs the request body, read under the limit. */
export type BodyRoute = (
  context: RouteContext,
  body: Uint8Array,
  request: Request,
  info?: RequestInfo,
) => Promise<Response> | Response;

/** At most one warning per kind in this interval. */
const WARNING_INTERVAL_MS = 10_000;

/** `deps` with the defaults filled in. */
export function routeContext(deps: BrokerDeps): RouteContext {
  const logger = deps.logger ?? new Logger(nullSink);
  const clock = deps.clock ?? systemClock;
  const lastWarning = new Map<string, number>();
  return {
    rendezvous: deps.rendezvous,
    bridges: deps.bridges ?? new BridgeList(),
    metrics: deps.metrics ?? new BrokerMetrics(),
    logger,
    readLimit: deps.readLimit ?? READ_LIMIT_BYTES,
    brokerPattern: new NameMatcher(deps.allowedRelayPattern ?? ""),
    legacyPattern: deps.defaultRelayPattern ?? "",
    metricsLogPath: deps.metricsLogPath,
    events: deps.events ?? new BrokerEvents(),
    warnThrottled(kind, message) {
      const now = clock.now();
      const last = lastWarning.get(kind);
      if (last !== undefined && now - last < WARNING_INTERVAL_MS) return;
      lastWarning.set(kind, now);
      logger.warn(message);
    },
  };
}
