/**
 * An EventTarget whose event names and event types come from a map, so that
 * `events.addEventListener("carrierclosed", (e) => e.detail.reason)` is typed.
 * Roles publish their outcomes through one (logs, metrics and tests listen);
 * so do RedialPacketConn and MultiplexingPacketConn, whose events are classes.
 */

/** `M` maps each event name to its Event type (an interface works: no index signature needed). */
export class TypedEventTarget<M extends { [K in keyof M]: Event }> extends EventTarget {
  /** Listens for `type`, whose events carry `M[type]`'s detail. */
  override addEventListener<K extends keyof M & string>(
    type: K,
    listener: ((event: M[K]) => void) | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Listens for any event, untyped. */
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

  /** Stops a typed listener. */
  override removeEventListener<K extends keyof M & string>(
    type: K,
    listener: ((event: M[K]) => void) | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Stops any listener. */
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

  /** Dispatches `type` as a CustomEvent with `detail` (for maps of CustomEvents). */
  emit<K extends keyof M & string>(type: K, detail: M[K] extends CustomEvent<infer D> ? D : never): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
