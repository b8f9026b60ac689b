/**
 * The proxy's typed events: what logs, the summary line, metrics and tests
 * all read. `proxy.events.addEventListener("clientclosed", (e) => e.detail.reason)`.
 */

import type { NatType } from "../messages/nat.ts";
import type { ClientCloseReason } from "./client_session.ts";

/** How one broker poll ended. */
export type PollResult = "match" | "no match" | "error";

export interface PollDetail {
  result: PollResult;
  /** The error, for `error`. */
  error?: string;
}

export interface NatChangeDetail {
  nat: NatType;
  previous: NatType;
}

export interface ClientConnectedDetail {
  /** Counts up from 1 per offer taken; names the client in logs and events. */
  id: number;
}

export interface ClientClosedDetail {
  id: number;
  reason: ClientCloseReason;
  detail?: string;
  /** Whether its data channel opened. */
  connected: boolean;
  bytesFromClient: number;
  bytesToClient: number;
  durationMs: number;
}

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

/** An EventTarget whose listeners get the detail types of {@link ProxyEventMap}. */
export class ProxyEvents extends EventTarget {
  override addEventListener<K extends keyof ProxyEventMap>(
    type: K,
    listener: (event: ProxyEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null | ((event: never) => void),
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<K extends keyof ProxyEventMap>(
    type: K,
    listener: (event: ProxyEventMap[K]) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null | ((event: never) => void),
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** Dispatches `type` with `detail`. */
  emit<K extends keyof ProxyEventMap>(type: K, detail: ProxyEventMap[K]["detail"]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
