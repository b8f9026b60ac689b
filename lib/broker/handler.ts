/**
 * The broker's HTTP API as a request handler (SNOWFLAKE-PROTOCOL.md §4–§5):
 * `POST /proxy`, `POST /client` (versioned and legacy), `GET /amp/client/…`,
 * `POST /answer`, `/debug`, `/metrics`, `/prometheus`, `/robots.txt`, with
 * the reference's status codes, bodies, CORS headers and 100000-byte body
 * limit. `cli/broker.ts` hands it to `Deno.serve`; tests call it directly.
 *
 * The routes are one table; what several share is a wrapper around the
 * route's function: `cors` (CORS headers, and OPTIONS answered empty: as in
 * Go, no other method check) and `withBody` (the body read under the limit,
 * 400 past it). Where we differ, it is to fail clearly instead of hanging or
 * crashing: a malformed offer is refused at the broker, a legacy poll with a
 * bad NAT header gets 400 (Go drops the connection), an answer for a session
 * that is not awaiting one gets `client gone` (Go can block forever), and past
 * the waiting bounds polls get 503 with `Retry-After`.
 */

import {
  decodeClientPollRequest,
  decodeLegacyClientPollRequest,
  encodeClientPollResponse,
  encodeLegacyClientPollResponse,
  isLegacyClientPoll,
  LEGACY_NAT_HEADER,
} from "../messages/client_poll.ts";
import { decodeAmpPath } from "../messages/amp_path.ts";
import { NameMatcher } from "../messages/name_matcher.ts";
import {
  clientMatchResponse,
  decodeProxyPollRequest,
  encodeProxyPollResponse,
  noClientResponse,
  type ProxyPollRequest,
  STATUS_INCORRECT_RELAY_PATTERN,
} from "../messages/proxy_poll.ts";
import { decodeProxyAnswerRequest, encodeProxyAnswerResponse } from "../messages/proxy_answer.ts";
import type { NatType } from "../messages/nat.ts";
import { parseSessionDescription } from "../messages/session_description.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { errorMessage } from "../util/errors.ts";
import { Logger, nullSink } from "../util/log.ts";
import { BridgeList } from "./bridge_list.ts";
import { type ClientPollResult, runClientPoll } from "./client_flow.ts";
import { formatDebugPage } from "./debug_page.ts";
import { BrokerMetrics } from "./metrics.ts";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import type { ProxyPollOutcome, Rendezvous } from "./rendezvous.ts";
import { armored, empty, json, notFound, overCapacity, TEXT, withCors } from "./responses.ts";
import { READ_LIMIT_BYTES, readBodyLimited } from "./request_body.ts";

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
}

/** What the handler reads from `Deno.serve`'s second argument. */
export interface RequestInfo {
  remoteAddr?: { hostname?: string };
}

export type BrokerHandler = (request: Request, info?: RequestInfo) => Promise<Response>;

/** One route's function; a held poll's promise is returned chained, not awaited. */
type Route = (request: Request, info?: RequestInfo) => Promise<Response> | Response;
/** A route that needs the request body, read under the limit. */
type BodyRoute = (body: Uint8Array, request: Request, info?: RequestInfo) => Promise<Response> | Response;

/** At most one warning per kind in this interval. */
const WARNING_INTERVAL_MS = 10_000;

const ROBOTS_TXT = "User-agent: *\nDisallow: /\n";
const AMP_PREFIX = "/amp/client/";

export function brokerHandler(deps: BrokerDeps): BrokerHandler {
  const rendezvous = deps.rendezvous;
  const bridges = deps.bridges ?? new BridgeList();
  const metrics = deps.metrics ?? new BrokerMetrics();
  const logger = deps.logger ?? new Logger(nullSink);
  const clock = deps.clock ?? systemClock;
  const readLimit = deps.readLimit ?? READ_LIMIT_BYTES;
  const brokerPattern = new NameMatcher(deps.allowedRelayPattern ?? "");
  const legacyPattern = deps.defaultRelayPattern ?? "";
  const flow = { rendezvous, bridges, metrics, logger };

  const lastWarning = new Map<string, number>();
  const warnThrottled = (kind: string, message: string) => {
    const now = clock.now();
    const last = lastWarning.get(kind);
    if (last !== undefined && now - last < WARNING_INTERVAL_MS) return;
    lastWarning.set(kind, now);
    logger.warn(message);
  };

  // An empty broker pattern restricts nothing. (Read literally, Go's check would refuse every proxy that
  // sends a pattern when the broker has none; SNOWFLAKE-PROTOCOL.md §4.9 documents that all pass.)
  const relayPatternAccepted = (poll: ProxyPollRequest) =>
    brokerPattern.suffix === "" && !brokerPattern.exact ||
    new NameMatcher(poll.acceptedRelayPattern ?? legacyPattern).isSupersetOf(brokerPattern);

  /** CORS headers on the reply; OPTIONS (a browser's preflight) answered 200, empty. */
  const cors = (route: Route): Route => (request, info) => {
    if (request.method === "OPTIONS") return withCors(new Response(null, { status: 200 }));
    const response = route(request, info);
    return response instanceof Response ? withCors(response) : response.then(withCors);
  };

  /** The body, at most `readLimit` bytes; past it 400 and, like Go's MaxBytesReader, the connection closed. */
  const withBody = (route: BodyRoute): Route => async (request, info) => {
    let body: Uint8Array;
    try {
      body = await readBodyLimited(request, readLimit);
    } catch (error) {
      logger.debug(`request rejected: ${errorMessage(error)}`);
      return new Response(null, { status: 400, headers: { Connection: "close" } });
    }
    return route(body, request, info);
  };

  function proxyPoll(body: Uint8Array, request: Request, info?: RequestInfo): Promise<Response> | Response {
    let poll: ProxyPollRequest;
    try {
      poll = decodeProxyPollRequest(body);
    } catch (error) {
      logger.debug(`proxy poll rejected: ${errorMessage(error)}`);
      return empty(400);
    }
    metrics.proxyPolled(poll.type, poll.nat, poll.acceptedRelayPattern !== undefined);
    if (!relayPatternAccepted(poll)) {
      metrics.proxyRejectedForRelayPattern(poll.type, poll.nat);
      logger.debug(`proxy poll rejected: relay pattern "${poll.acceptedRelayPattern ?? legacyPattern}"`);
      return json(encodeProxyPollResponse(noClientResponse(STATUS_INCORRECT_RELAY_PATTERN)));
    }
    const address = remoteAddress(info);
    if (address !== undefined) metrics.proxySeen(address, poll.type, poll.nat);
    const nat = poll.nat;
    // Chained, not awaited: the held poll keeps only what the reply needs, not this frame and the body.
    return rendezvous.proxyPoll(
      { sid: poll.sid, proxyType: poll.type, nat, clients: poll.clients },
      request.signal,
    ).then((outcome) => proxyPollReply(outcome, nat));
  }

  function proxyPollReply(outcome: ProxyPollOutcome, nat: NatType): Response {
    switch (outcome.kind) {
      case "matched":
        metrics.proxyMatched(nat);
        return json(
          encodeProxyPollResponse(
            clientMatchResponse(outcome.offer.offer, outcome.offer.nat, outcome.offer.relayURL),
          ),
        );
      case "no-match":
        metrics.proxyIdle(nat);
        return json(encodeProxyPollResponse(noClientResponse()));
      case "over-capacity":
        metrics.overCapacity("proxy");
        warnThrottled(
          "proxy",
          `refusing proxy polls: ${rendezvous.matcher.maxWaitingProxies} already wait (--max-waiting-proxies)`,
        );
        return overCapacity("too many proxies waiting");
      case "sid-in-use":
        logger.debug("proxy poll rejected: its session ID is awaiting an answer");
        return empty(400);
      case "cancelled":
        return empty(503);
    }
  }

  function refusal(result: Extract<ClientPollResult, { kind: "refused" }>): Response {
    if (result.status === 500) return empty(500);
    if (result.reason === "over-capacity") {
      warnThrottled(
        "client",
        `refusing client polls: ${rendezvous.matcher.maxWaitingClients} already wait (--max-waiting-clients)`,
      );
      return overCapacity("too many clients waiting");
    }
    return empty(503);
  }

  async function clientPoll(body: Uint8Array, request: Request): Promise<Response> {
    const legacy = isLegacyClientPoll(body);
    let poll;
    try {
      poll = legacy
        ? decodeLegacyClientPollRequest(body, request.headers.get(LEGACY_NAT_HEADER))
        : decodeClientPollRequest(body);
    } catch (error) {
      logger.debug(`client poll rejected: ${errorMessage(error)}`);
      if (legacy) return empty(400);
      return json(encodeClientPollResponse({ error: errorMessage(error) }));
    }
    const result = await runClientPoll(flow, poll, request.signal);
    if (result.kind === "refused") return refusal(result);
    if (!legacy) return json(encodeClientPollResponse(result.response));
    if (result.invalidOffer) return empty(400);
    const { status, body: answer } = encodeLegacyClientPollResponse(result.response);
    return status === 200 ? json(answer) : empty(status);
  }

  async function ampClientPoll(request: Request): Promise<Response> {
    let data: Uint8Array;
    try {
      data = decodeAmpPath(decodeURIComponent(new URL(request.url).pathname).slice(AMP_PREFIX.length));
    } catch {
      return armored({ error: "cannot decode URL path" });
    }
    let poll;
    try {
      poll = decodeClientPollRequest(data);
    } catch (error) {
      return armored({ error: errorMessage(error) });
    }
    const result = await runClientPoll(flow, poll, request.signal);
    return result.kind === "refused" ? refusal(result) : armored(result.response);
  }

  function proxyAnswer(body: Uint8Array): Response {
    let sid: string;
    let answer: string;
    try {
      ({ sid, answer } = decodeProxyAnswerRequest(body));
      parseSessionDescription(answer, "answer");
    } catch (error) {
      logger.debug(`proxy answer rejected: ${errorMessage(error)}`);
      return empty(400);
    }
    return json(encodeProxyAnswerResponse(rendezvous.answer(sid, answer)));
  }

  async function metricsLog(): Promise<Response> {
    if (!deps.metricsLogPath) return notFound({});
    try {
      const file = await Deno.open(deps.metricsLogPath, { read: true });
      return new Response(file.readable, { headers: { "Content-Type": TEXT } });
    } catch (error) {
      logger.warn(`cannot open metrics log ${deps.metricsLogPath}: ${errorMessage(error)}`);
      return notFound({});
    }
  }

  const text = (body: string, contentType = TEXT) => () =>
    new Response(body, { headers: { "Content-Type": contentType } });

  const routes: Record<string, Route> = {
    "/robots.txt": text(ROBOTS_TXT),
    "/prometheus": () =>
      new Response(formatPrometheus(metrics, rendezvous.matcher), {
        headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE },
      }),
    "/amp/client": () => new Response(null, { status: 301, headers: { Location: AMP_PREFIX } }),
    "/proxy": cors(withBody(proxyPoll)),
    "/client": cors(withBody(clientPoll)),
    "/answer": cors(withBody(proxyAnswer)),
    "/debug": cors(() => text(formatDebugPage(rendezvous.matcher))()),
    "/metrics": cors(metricsLog),
  };
  const ampRoute = cors(ampClientPoll);
  const find = (path: string): Route | undefined =>
    Object.hasOwn(routes, path) ? routes[path] : path.startsWith(AMP_PREFIX) ? ampRoute : undefined;

  const notFoundRoute: Route = () => notFound({});
  // Promise.try, not await: a held poll then keeps no suspended frame of this function alive.
  return (request: Request, info?: RequestInfo): Promise<Response> => {
    const path = new URL(request.url).pathname;
    return Promise.try(find(path) ?? notFoundRoute, request, info).catch((error) => {
      // A bug of ours: answer this request with 500 and keep serving the others.
      logger.error(
        `internal error on ${path}: ${error instanceof Error && error.stack || errorMessage(error)}`,
      );
      return empty(500);
    });
  };
}

/** The client's address without port, IPv4-mapped IPv6 as IPv4. */
function remoteAddress(info?: RequestInfo): string | undefined {
  const host = info?.remoteAddr?.hostname;
  if (!host) return undefined;
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
