/**
 * The per-client send queue that ClientMap hands to WebSocket writers
 * (SNOWFLAKE-PROTOCOL.md §3.5–3.6): an AsyncQueue of packets that also
 *  - charges its queued bytes to a budget shared by all clients, so the packets
 *    waiting for every client together stay under one bound (Go has none; we
 *    add it so that many idle clients cannot hold unbounded memory), and
 *  - offers `shift(signal)`, which an aborted writer leaves without taking a
 *    packet (Go's `select` on the queue and a done channel), so a packet never
 *    goes to a writer whose WebSocket has already gone.
 * At either bound (`capacity` packets, or the shared budget) `push` refuses the
 * packet and returns false; QueuePacketConn then drops it, as Go does.
 */

import { AsyncQueue } from "../net/async_queue.ts";

/** A byte count shared by several queues, with a limit. */
export class QueuedBytesBudget {
  #used = 0;
  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new RangeError(`byte budget must be non-negative, got ${limit}`);
  }
  get used(): number {
    return this.#used;
  }
  /** Reserves `n` bytes; false (nothing reserved) if that would pass the limit. */
  take(n: number): boolean {
    if (this.#used + n > this.limit) return false;
    this.#used += n;
    return true;
  }
  give(n: number): void {
    this.#used -= n;
  }
}

export class ClientSendQueue extends AsyncQueue<Uint8Array> {
  readonly #budget: QueuedBytesBudget;
  #bytes = 0;
  #wakers = new Set<() => void>();

  constructor(capacity: number, budget: QueuedBytesBudget) {
    super(capacity);
    this.#budget = budget;
  }

  /** Bytes of the packets now queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues `packet`; false (dropped by the caller) when closed, full, or over the shared budget. */
  override push(packet: Uint8Array): boolean {
    if (!this.#budget.take(packet.length)) return false;
    const before = this.length;
    if (!super.push(packet)) {
      this.#budget.give(packet.length);
      return false;
    }
    if (this.length > before) {
      this.#bytes += packet.length;
      this.#wake();
    } else {
      this.#budget.give(packet.length); // handed straight to a waiting shift()
    }
    return true;
  }

  override tryShift(): Uint8Array | undefined {
    const packet = super.tryShift();
    if (packet !== undefined) {
      this.#bytes -= packet.length;
      this.#budget.give(packet.length);
    }
    return packet;
  }

  /** The next packet; waits while empty; null once closed and drained, or once `signal` aborts (nothing taken). */
  override async shift(signal?: AbortSignal): Promise<Uint8Array | null> {
    if (!signal) return super.shift();
    while (!signal.aborted) {
      const packet = this.tryShift();
      if (packet !== undefined) return packet;
      if (this.closed) return null;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#wakers.delete(wake);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.#wakers.add(wake);
        signal.addEventListener("abort", wake);
      });
    }
    return null;
  }

  override close(): void {
    super.close();
    this.#wake();
  }

  override clear(): void {
    this.#budget.give(this.#bytes);
    this.#bytes = 0;
    super.clear();
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake();
  }
}
