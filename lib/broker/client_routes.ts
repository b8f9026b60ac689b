/**
 * The client's broker routes (SNOWFLAKE-PROTOCOL.md §4.2–§4.4, §5): `POST
 * /client`, versioned or legacy, and `GET /amp/client/<armored poll>` through
 * an AMP cache. Both run the same flow (client_flow.ts) and differ in how
 * the poll comes in and the answer goes out.
 */

import { decodeAmpPath } from "../messages/amp_path.ts";
import {
  decodeClientPollRequest,
  decodeLegacyClientPollRequest,
  encodeClientPollResponse,
  encodeLegacyClientPollResponse,
  isLegacyClientPoll,
  LEGACY_NAT_HEADER,
} from "../messages/client_poll.ts";
import { errorMessage } from "../util/errors.ts";
import { type ClientPollResult, runClientPoll } from "./client_flow.ts";
import { armored, empty, json, overCapacity } from "./responses.ts";
import type { RouteContext } from "./route_context.ts";

/** Where AMP client polls come in; the rest of the path is the armored poll. */
export const AMP_PREFIX = "/amp/client/";

/** `POST /client`: a versioned poll gets JSON back; a legacy one, the answer SDP or a bare status. */
export async function clientPoll(
  context: RouteContext,
  body: Uint8Array,
  request: Request,
): Promise<Response> {
  const legacy = isLegacyClientPoll(body);
  let poll;
  try {
    poll = legacy
      ? decodeLegacyClientPollRequest(body, request.headers.get(LEGACY_NAT_HEADER))
      : decodeClientPollRequest(body);
  } catch (error) {
    context.logger.debug(`client poll rejected: ${errorMessage(error)}`);
    if (legacy) return empty(400);
    return json(encodeClientPollResponse({ error: errorMessage(error) }));
  }
  const result = await runClientPoll(context, poll, request.signal);
  if (result.kind === "refused") return refusal(context, result);
  if (!legacy) return json(encodeClientPollResponse(result.response));
  if (result.invalidOffer) return empty(400);
  const { status, body: answer } = encodeLegacyClientPollResponse(result.response);
  return status === 200 ? json(answer) : empty(status);
}

/** `GET /amp/client/…`: the poll is in the path; the reply is AMP-armored HTML. */
export async function ampClientPoll(context: RouteContext, request: Request): Promise<Response> {
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
  const result = await runClientPoll(context, poll, request.signal);
  return result.kind === "refused" ? refusal(context, result) : armored(result.response);
}

function refusal(context: RouteContext, result: Extract<ClientPollResult, { kind: "refused" }>): Response {
  if (result.status === 500) return empty(500);
  if (result.reason === "over-capacity") {
    context.warnThrottled(
      "client",
      `refusing client polls: ${context.rendezvous.matcher.maxWaitingClients} already wait (--max-waiting-clients)`,
    );
    return overCapacity("too many clients waiting");
  }
  return empty(503);
}
