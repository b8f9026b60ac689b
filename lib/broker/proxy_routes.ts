/**
 * The proxy's two broker routes (SNOWFLAKE-PROTOCOL.md §4.5–§4.6, §4.9):
 * `POST /proxy` (a poll held until a client is matched or the proxy timeout)
 * and `POST /answer` (the proxy's answer for the matched client).
 */

import { NameMatcher } from "../messages/name_matcher.ts";
import type { NatType } from "../messages/nat.ts";
import { decodeProxyAnswerRequest, encodeProxyAnswerResponse } from "../messages/proxy_answer.ts";
import {
  clientMatchResponse,
  decodeProxyPollRequest,
  encodeProxyPollResponse,
  noClientResponse,
  type ProxyPollRequest,
  STATUS_INCORRECT_RELAY_PATTERN,
} from "../messages/proxy_poll.ts";
import { parseSessionDescription } from "../messages/session_description.ts";
import { errorMessage } from "../util/errors.ts";
import type { ProxyPollOutcome } from "./rendezvous.ts";
import { empty, json, overCapacity } from "./responses.ts";
import type { RequestInfo, RouteContext } from "./route_context.ts";

/** `POST /proxy`: decode, check the relay pattern, count, and hold the poll in the rendezvous. */
export function proxyPoll(
  context: RouteContext,
  body: Uint8Array,
  request: Request,
  info?: RequestInfo,
): Promise<Response> | Response {
  const { metrics, logger } = context;
  let poll: ProxyPollRequest;
  try {
    poll = decodeProxyPollRequest(body);
  } catch (error) {
    logger.debug(`proxy poll rejected: ${errorMessage(error)}`);
    return empty(400);
  }
  metrics.proxyPolled(poll.type, poll.nat, poll.acceptedRelayPattern !== undefined);
  if (!relayPatternAccepted(context, poll)) {
    metrics.proxyRejectedForRelayPattern(poll.type, poll.nat);
    logger.debug(
      `proxy poll rejected: relay pattern "${poll.acceptedRelayPattern ?? context.legacyPattern}"`,
    );
    return json(encodeProxyPollResponse(noClientResponse(STATUS_INCORRECT_RELAY_PATTERN)));
  }
  const address = remoteAddress(info);
  if (address !== undefined) metrics.proxySeen(address, poll.type, poll.nat);
  const nat = poll.nat;
  context.events.emit("proxypolled", { nat, proxyType: poll.type });
  // Chained, not awaited: the held poll keeps only what the reply needs, not this frame and the body.
  return context.rendezvous.proxyPoll(
    { sid: poll.sid, proxyType: poll.type, nat, clients: poll.clients },
    request.signal,
  ).then((outcome) => proxyPollReply(context, outcome, nat));
}

/** `POST /answer`: check the answer SDP and hand it to the waiting client. */
export function proxyAnswer({ logger, rendezvous }: RouteContext, body: Uint8Array): Response {
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

function proxyPollReply(context: RouteContext, outcome: ProxyPollOutcome, nat: NatType): Response {
  const { metrics } = context;
  context.events.emit("proxyreplied", { nat, outcome: outcome.kind });
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
      context.warnThrottled(
        "proxy",
        `refusing proxy polls: ${context.rendezvous.matcher.maxWaitingProxies} already wait (--max-waiting-proxies)`,
      );
      return overCapacity("too many proxies waiting");
    case "sid-in-use":
      context.logger.debug("proxy poll rejected: its session ID is awaiting an answer");
      return empty(400);
    case "cancelled":
      return empty(503);
  }
}

/**
 * An empty broker pattern restricts nothing. (Read literally, Go's check would refuse every proxy that sends a
 * pattern when the broker has none; SNOWFLAKE-PROTOCOL.md §4.9 documents that all pass.)
 */
function relayPatternAccepted(
  { brokerPattern, legacyPattern }: RouteContext,
  poll: ProxyPollRequest,
): boolean {
  return brokerPattern.suffix === "" && !brokerPattern.exact ||
    new NameMatcher(poll.acceptedRelayPattern ?? legacyPattern).isSupersetOf(brokerPattern);
}

/** The proxy's address without port, IPv4-mapped IPv6 as IPv4. */
function remoteAddress(info?: RequestInfo): string | undefined {
  const host = info?.remoteAddr?.hostname;
  if (!host) return undefined;
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
