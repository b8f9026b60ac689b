/**
 * The event pump: moves events from the native shim to the JS objects they
 * belong to. While at least one RTCPeerConnection is open it loops on one
 * native call per batch, swrtc_wait_poll: a `nonblocking` FFI call, so a
 * worker thread, not the event loop, sleeps on the shim's eventfd until events
 * are queued and then copies all of them into the poll buffer; the loop
 * dispatches them by handle. No busy polling, one FFI crossing per batch
 * rather than per message. Events of one handle keep the shim's order (open,
 * then messages, then close).
 *
 * When the last peer connection closes the shim signals the eventfd, the wait
 * returns and the loop ends, so an idle binding does not keep the process
 * alive; opening a peer connection starts it again.
 */

import { decodeEvent, EventKind, type NativeEvent } from "./events.ts";
import type { Native } from "./native.ts";

/** A JS object that receives the events of one native handle. */
export interface NativeEventTarget {
  handleNativeEvent(event: NativeEvent): void;
}

/** How long one wait may sleep with nothing to do before the loop checks again. */
const WAIT_TIMEOUT_MS = 1_000;

/**
 * Poll buffer size: larger than any single event (a message is at most 65535
 * bytes, a channel description a few hundred). The shim's queue holds up to
 * 4 MiB; draining it takes a few calls.
 */
const POLL_BUFFER_SIZE = 1 << 20;

export class EventPump {
  readonly #native: Native;
  readonly #targets = new Map<number, NativeEventTarget>();
  // Written by the worker thread during swrtc_wait_poll, read only between calls.
  readonly #buffer = new Uint8Array(POLL_BUFFER_SIZE);
  #offset = 0; // events in #buffer from #offset to #length are not dispatched yet
  #length = 0;
  #openPeers = 0;
  #running = false;

  constructor(native: Native) {
    this.#native = native;
  }

  static #instance: EventPump | undefined;

  /** The realm's one pump. */
  static get(native: Native): EventPump {
    return EventPump.#instance ??= new EventPump(native);
  }

  register(handle: number, target: NativeEventTarget): void {
    this.#targets.set(handle, target);
  }

  unregister(handle: number): void {
    this.#targets.delete(handle);
  }

  /** A peer connection opened: keep pumping until it closes. */
  peerOpened(): void {
    this.#openPeers++;
    if (!this.#running) {
      this.#running = true;
      this.#run();
    }
  }

  /** A peer connection closed (the shim wakes the pending wait). */
  peerClosed(): void {
    this.#openPeers--;
  }

  /**
   * Dispatches the events left in the buffer. Returns true when it stopped
   * early, after an "open" or "datachannel" event: the rest waits for the next
   * macrotask, so that code which awaits those events (and only then sets
   * onmessage) runs before the messages that follow them, as with a browser's
   * one-task-per-event delivery.
   */
  #dispatch(): boolean {
    while (this.#offset < this.#length) {
      const [event, next] = decodeEvent(this.#buffer, this.#offset, this.#length);
      this.#offset = next;
      this.#targets.get(event.handle)?.handleNativeEvent(event);
      if (event.kind === EventKind.ChannelOpen || event.kind === EventKind.PeerDataChannel) return true;
    }
    return false;
  }

  async #run(): Promise<void> {
    const { symbols, context, wakeFd } = this.#native;
    const buffer = this.#buffer;
    try {
      while (this.#openPeers > 0) {
        if (this.#dispatch()) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          continue;
        }
        const length = await symbols.swrtc_wait_poll(context, wakeFd, buffer, buffer.length, WAIT_TIMEOUT_MS);
        if (length < 0) throw new RangeError(`WebRTC event of ${-length} bytes exceeds the poll buffer`);
        this.#offset = 0;
        this.#length = length;
      }
    } finally {
      this.#running = false;
    }
  }
}
