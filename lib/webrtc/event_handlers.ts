/**
 * W3C-style `on<type>` attributes (`pc.onconnectionstatechange = ...`) on top
 * of EventTarget, and the event classes the WebRTC API dispatches.
 */

import type { RTCDataChannel } from "./data_channel.ts";

/** The value of an `on<type>` attribute. */
export type EventHandler<E extends Event = Event> = ((event: E) => unknown) | null;

/**
 * Defines `on<type>` accessors on `prototype`: setting one replaces the
 * previous handler, null removes it, as in browsers.
 */
export function defineEventHandlers(prototype: EventTarget, types: readonly string[]): void {
  for (const type of types) {
    const key = Symbol(`on${type}`);
    type Slot = { handler: EventHandler; listener: (event: Event) => unknown };
    Object.defineProperty(prototype, `on${type}`, {
      get(this: EventTarget & { [key]?: Slot }) {
        return this[key]?.handler ?? null;
      },
      set(this: EventTarget & { [key]?: Slot }, handler: EventHandler) {
        const slot = this[key];
        if (slot) this.removeEventListener(type, slot.listener);
        if (typeof handler !== "function") {
          delete this[key];
          return;
        }
        const listener = (event: Event) => handler.call(this, event);
        this[key] = { handler, listener };
        this.addEventListener(type, listener);
      },
      configurable: true,
      enumerable: true,
    });
  }
}

/** The "datachannel" event: the remote side opened `channel`. */
export class RTCDataChannelEvent extends Event {
  /** The channel the remote side opened. */
  readonly channel: RTCDataChannel;
  /** `init.channel`: the new channel. */
  constructor(type: string, init: EventInit & { channel: RTCDataChannel }) {
    super(type, init);
    this.channel = init.channel;
  }
}

/**
 * The "icecandidate" event. Signalling here is non-trickle, so it fires only
 * once, with `candidate: null`, when gathering completes (the W3C
 * end-of-candidates signal); localDescription then holds every candidate.
 */
export class RTCPeerConnectionIceEvent extends Event {
  /** Always null: the end-of-candidates signal. */
  readonly candidate: null = null;
}

/** The "error" event of a data channel, carrying pion's error. */
export class RTCErrorEvent extends Event {
  /** pion's error. */
  readonly error: Error;
  /** `init.error`: what pion reported. */
  constructor(type: string, init: EventInit & { error: Error }) {
    super(type, init);
    this.error = init.error;
  }
}
