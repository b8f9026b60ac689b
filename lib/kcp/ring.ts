/**
 * A growable first-in first-out ring buffer with indexed access: the queues of
 * the ARQ machine (send buffer, receive queue, written chunks). O(1) push,
 * shift and at(i), no Array.shift. Capacity doubles when full; the owner bounds
 * the length (each queue's bound is written where it is used). An emptied ring
 * can {@link Ring.shrink} back to its initial capacity, so a queue that grew for
 * a burst of traffic does not keep its array while the connection idles.
 */

export class Ring<T> {
  #items: (T | undefined)[];
  #mask: number;
  readonly #initialCapacity: number;
  #head = 0;
  #length = 0;

  constructor(initialCapacity = 16) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity *= 2;
    this.#initialCapacity = capacity;
    this.#items = new Array(capacity);
    this.#mask = capacity - 1;
  }

  get length(): number {
    return this.#length;
  }

  /** Slots allocated (a power of two, at least the initial capacity). */
  get capacity(): number {
    return this.#items.length;
  }

  /** Whether {@link shrink} would give an array back: the ring is empty and has grown. */
  get canShrink(): boolean {
    return this.#length === 0 && this.#items.length > this.#initialCapacity;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Removes and returns the first item; the ring must not be empty. */
  shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** The item `index` places from the front; `index` must be below `length`. */
  at(index: number): T {
    return this.#items[(this.#head + index) & this.#mask] as T;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }

  /** Back to the initial capacity, if the ring is empty (else nothing happens). */
  shrink(): void {
    if (!this.canShrink) return;
    this.#items = new Array(this.#initialCapacity);
    this.#mask = this.#initialCapacity - 1;
    this.#head = 0;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#mask = items.length - 1;
    this.#head = 0;
  }
}
