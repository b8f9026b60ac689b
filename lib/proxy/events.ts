/**
 * The proxy's typed events: what logs, the summary line, metrics and tests
 * all read. `proxy.events.addEventListener("clientclosed", (e) => e.detail.reason)`.
 */

import type { NatType } from "../messages/nat.ts";
import type { ClientCloseReason } from "./client_session.ts";
import { TypedEventTarget } from "../util/typed_events.ts";

/** How one broker poll ended. */
export type PollResult = "match" | "no match" | "error";

/** The detail of a "poll" event. */
export interface PollDetail {
  /** How the poll ended. */
  result: PollResult;
  /** The error, for `error`. */
  error?: string;
}

/** The detail of a "natchange" event. */
export interface NatChangeDetail {
  /** The type now. */
  nat: NatType;
  /** The type before. */
  previous: NatType;
}

/** The detail of a "clientconnected" event. */
export interface ClientConnectedDetail {
  /** Counts up from 1 per offer taken; names the client in logs and events. */
  id: number;
}

/** The detail of a "clientclosed" event: how the client's session went. */
export interface ClientClosedDetail {
  /** The client's id (see {@link ClientConnectedDetail.id}). */
  id: number;
  /** Why the session ended. */
  reason: ClientCloseReason;
  /** Extra detail for the log (an error message), if any. */
  detail?: string;
  /** Whether its data channel opened. */
  connected: boolean;
  /** Bytes the client sent that went to the relay. */
  bytesFromClient: number;
  /** Bytes the relay sent that went to the client. */
  bytesToClient: number;
  /** From the answer being made to teardown, ms. */
  durationMs: number;
}

/** The proxy's events by type, for typed listeners on {@link ProxyEvents}. */
export interface ProxyEventMap {
  /** A broker poll finished. */
  poll: CustomEvent<PollDetail>;
  /** A NAT test gave a different type (also the first result that is not `unknown`). */
  natchange: CustomEvent<NatChangeDetail>;
  /** A client's data channel opened. */
  clientconnected: CustomEvent<ClientConnectedDetail>;
  /** A client's offer was taken and its session is over (every path, the slot is free). */
  clientclosed: CustomEvent<ClientClosedDetail>;
}

/** The proxy's event target: listeners get the detail types of {@link ProxyEventMap}. */
export class ProxyEvents extends TypedEventTarget<ProxyEventMap> {}
