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

import { errorMessage } from "../util/errors.ts";
import { AMP_PREFIX, ampClientPoll, clientPoll } from "./client_routes.ts";
import { formatDebugPage } from "./debug_page.ts";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import { proxyAnswer, proxyPoll } from "./proxy_routes.ts";
import { empty, notFound, TEXT, withCors } from "./responses.ts";
import { readBodyLimited } from "./request_body.ts";
import {
  type BodyRoute,
  type BrokerDeps,
  type RequestInfo,
  type Route,
  type RouteContext,
  routeContext,
} from "./route_context.ts";

export type { BrokerDeps, RequestInfo } from "./route_context.ts";

/** The broker as one function from request to response. */
export type BrokerHandler = (request: Request, info?: RequestInfo) => Promise<Response>;

const ROBOTS_TXT = "User-agent: *\nDisallow: /\n";

/** CORS headers on the reply; OPTIONS (a browser's preflight) answered 200, empty. */
const cors = (route: Route): Route => (request, info) => {
  if (request.method === "OPTIONS") return withCors(new Response(null, { status: 200 }));
  const response = route(request, info);
  return response instanceof Response ? withCors(response) : response.then(withCors);
};

/** The body, at most `readLimit` bytes; past it 400 and, like Go's MaxBytesReader, the connection closed. */
const withBody = (context: RouteContext, route: BodyRoute): Route => async (request, info) => {
  let body: Uint8Array;
  try {
    body = await readBodyLimited(request, context.readLimit);
  } catch (error) {
    context.logger.debug(`request rejected: ${errorMessage(error)}`);
    return new Response(null, { status: 400, headers: { Connection: "close" } });
  }
  return route(context, body, request, info);
};

const text = (body: string, contentType = TEXT) =>
  new Response(body, { headers: { "Content-Type": contentType } });

/** `/metrics`: the metrics log file as written so far; 404 without one. */
async function metricsLog({ metricsLogPath, logger }: RouteContext): Promise<Response> {
  if (!metricsLogPath) return notFound({});
  try {
    const file = await Deno.open(metricsLogPath, { read: true });
    return new Response(file.readable, { headers: { "Content-Type": TEXT } });
  } catch (error) {
    logger.warn(`cannot open metrics log ${metricsLogPath}: ${errorMessage(error)}`);
    return notFound({});
  }
}

/** The broker's routes over `deps`; see the module doc. */
export function brokerHandler(deps: BrokerDeps): BrokerHandler {
  const context = routeContext(deps);
  const { rendezvous, metrics, logger } = context;
  const routes: Record<string, Route> = {
    "/robots.txt": () => text(ROBOTS_TXT),
    "/prometheus": () => text(formatPrometheus(metrics, rendezvous.matcher), PROMETHEUS_CONTENT_TYPE),
    "/amp/client": () => new Response(null, { status: 301, headers: { Location: AMP_PREFIX } }),
    "/proxy": cors(withBody(context, proxyPoll)),
    "/client": cors(withBody(context, clientPoll)),
    "/answer": cors(withBody(context, proxyAnswer)),
    "/debug": cors(() => text(formatDebugPage(rendezvous.matcher))),
    "/metrics": cors(() => metricsLog(context)),
  };
  const amp = cors((request) => ampClientPoll(context, request));
  const notFoundRoute: Route = () => notFound({});
  const find = (path: string): Route =>
    Object.hasOwn(routes, path) ? routes[path] : path.startsWith(AMP_PREFIX) ? amp : notFoundRoute;

  // Promise.try, not await: a held poll then keeps no suspended frame of this function alive.
  return (request: Request, info?: RequestInfo): Promise<Response> => {
    const path = new URL(request.url).pathname;
    return Promise.try(find(path), request, info).catch((error) => {
      // A bug of ours: answer this request with 500 and keep serving the others.
      logger.error(
        `internal error on ${path}: ${error instanceof Error && error.stack || errorMessage(error)}`,
      );
      return empty(500);
    });
  };
}
