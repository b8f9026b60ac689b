/**
 * A bounded first-in first-out queue with an async `shift()`: the building block
 * of every packet queue (QueuePacketConn, RedialPacketConn, in-memory links).
 * At the bound, `push` refuses the item and returns false; the caller decides
 * what that means (the packet layers drop it, as UDP and Go Snowflake do).
 */

export class AsyncQueue<T> {
  readonly capacity: number;
  #items: (T | undefined)[] = [];
  #head = 0;
  #waiters: ((item: T | null) => void)[] = [];
  #closed = false;

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`queue capacity must be positive, got ${capacity}`);
    this.capacity = capacity;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds `item`; false (and nothing added) when full or closed. */
  push(item: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter(item);
      return true;
    }
    if (this.length >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** The next item without taking it, or undefined when empty. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** The next item without waiting, or undefined when empty. */
  tryShift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The next item; waits while empty; null once closed and drained. */
  shift(): Promise<T | null> {
    if (this.length > 0) return Promise.resolve(this.tryShift() as T);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends the queue: waiting and later `shift`s get null once the items are drained. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }

  /** Drops every queued item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
