/**
 * What the broker does with a decoded client poll, whichever door it came in
 * by (`/client` versioned or legacy, `/amp/client/`; SNOWFLAKE-PROTOCOL.md
 * §4.2–§4.4, §4.7): check the offer, find the client's bridge, hand the offer
 * to a compatible proxy and wait for its answer. The result is either a
 * client poll response (`{"answer"}` / `{"error"}`) or an HTTP status for the
 * cases the reference signals at the HTTP layer (unknown bridge: 500; ours:
 * too many clients waiting: 503).
 */

import {
  type ClientPollRequest,
  type ClientPollResponse,
  STR_NO_PROXIES,
  STR_TIMED_OUT,
} from "../messages/client_poll.ts";
import { parseSessionDescription } from "../messages/session_description.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { BridgeList } from "./bridge_list.ts";
import type { BrokerEvents } from "./events.ts";
import type { BrokerMetrics } from "./metrics.ts";
import type { Rendezvous } from "./rendezvous.ts";

/**
 * `answer`: a client poll response for the client (`invalidOffer` when the
 * offer was refused at the broker); `refused`: an HTTP status instead.
 */
export type ClientPollResult =
  | { kind: "answer"; response: ClientPollResponse; invalidOffer: boolean }
  | { kind: "refused"; status: 500 | 503; reason: "bridge not found" | "over-capacity" | "client went away" };

export interface ClientFlowDeps {
  rendezvous: Rendezvous;
  bridges: BridgeList;
  metrics: BrokerMetrics;
  logger: Logger;
  events: BrokerEvents;
}

export async function runClientPoll(
  deps: ClientFlowDeps,
  request: ClientPollRequest,
  signal?: AbortSignal,
): Promise<ClientPollResult> {
  try {
    parseSessionDescription(request.offer, "offer");
  } catch (error) {
    // The reference passes any string on; a Go 2.5.1 proxy can panic on a malformed one.
    deps.logger.debug(`client poll rejected: ${errorMessage(error)}`);
    deps.events.emit("clientreplied", { nat: request.nat, outcome: "bad-offer" });
    return { kind: "answer", response: { error: errorMessage(error) }, invalidOffer: true };
  }
  const bridge = deps.bridges.get(request.fingerprint);
  if (bridge === undefined) {
    deps.logger.debug(`client poll for unknown bridge ${request.fingerprint}`);
    deps.events.emit("clientreplied", { nat: request.nat, outcome: "bridge-not-found" });
    return { kind: "refused", status: 500, reason: "bridge not found" };
  }
  const outcome = await deps.rendezvous.clientOffer(
    { offer: request.offer, nat: request.nat, relayURL: bridge.webSocketAddress },
    signal,
  );
  deps.events.emit("clientreplied", { nat: request.nat, outcome: outcome.kind });
  switch (outcome.kind) {
    case "answered":
      deps.metrics.clientMatched(request.nat);
      return { kind: "answer", response: { answer: outcome.answer }, invalidOffer: false };
    case "no-proxy":
      deps.metrics.clientDenied(request.nat);
      return { kind: "answer", response: { error: STR_NO_PROXIES }, invalidOffer: false };
    case "timed-out":
      deps.metrics.clientTimedOut(request.nat);
      deps.logger.info("Client: Timed out.");
      return { kind: "answer", response: { error: STR_TIMED_OUT }, invalidOffer: false };
    case "over-capacity":
      deps.metrics.overCapacity("client");
      return { kind: "refused", status: 503, reason: "over-capacity" };
    case "cancelled":
      return { kind: "refused", status: 503, reason: "client went away" };
  }
}
