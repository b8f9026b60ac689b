/**
 * ClientID → client address (USERADDR) for sessions that outlive any one
 * WebSocket (SNOWFLAKE-PROTOCOL.md §8.6). Each Turbo Tunnel WebSocket sets the
 * entry for its ClientID (even to "", overwriting an earlier address, as Go
 * does); when a KCP session is accepted its address is read once and credited
 * to all of its streams.
 *
 * Bound: a fixed-capacity ring, 98304 entries as in Go 2.5.1; when full, the
 * oldest entry is forgotten. A session whose ClientID was forgotten connects
 * to tor without USERADDR (Go would crash formatting a nil address).
 */

export const CLIENT_ID_ADDR_MAP_CAPACITY = 98_304;

export class ClientIdAddrMap {
  readonly capacity: number;
  readonly #ring: (string | undefined)[];
  #next = 0;
  // clientId → [address, ring slot]
  readonly #entries = new Map<string, [string, number]>();

  constructor(capacity = CLIENT_ID_ADDR_MAP_CAPACITY) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
    this.#ring = new Array(capacity);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Records `addr` for `clientId`, replacing any earlier entry (which frees its slot). */
  set(clientId: string, addr: string): void {
    const existing = this.#entries.get(clientId);
    if (existing) this.#ring[existing[1]] = undefined;
    const slot = this.#next;
    const evicted = this.#ring[slot];
    if (evicted !== undefined) this.#entries.delete(evicted);
    this.#ring[slot] = clientId;
    this.#entries.set(clientId, [addr, slot]);
    this.#next = (slot + 1) % this.capacity;
  }

  /** The address recorded for `clientId`, or undefined if never set or forgotten. */
  get(clientId: string): string | undefined {
    return this.#entries.get(clientId)?.[0];
  }
}
