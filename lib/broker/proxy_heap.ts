/**
 * A min-heap of waiting proxies ordered by reported client count, fewest
 * first, ties broken by arrival (oldest first) — Go Snowflake's
 * `broker/snowflake-heap.go`, with an index in each entry so a proxy whose
 * poll times out or disconnects is removed in O(log n).
 */

/** What the heap needs of an entry; it owns `heapIndex` (−1 when not in a heap). */
export interface HeapEntry {
  clients: number;
  seq: number;
  heapIndex: number;
}

export class ProxyHeap<T extends HeapEntry> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The entry a client would get next, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(entry: T): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Removes `entry` if it is in this heap. */
  remove(entry: T): void {
    const index = entry.heapIndex;
    if (index < 0 || this.#items[index] !== entry) return;
    const last = this.#items.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#down(index);
    this.#up(last.heapIndex);
  }

  /** Every entry, in no particular order. */
  values(): readonly T[] {
    return this.#items;
  }

  #less(a: T, b: T): boolean {
    return a.clients < b.clients || (a.clients === b.clients && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    [items[i], items[j]] = [items[j], items[i]];
    items[i].heapIndex = i;
    items[j].heapIndex = j;
  }

  #up(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#less(this.#items[index], this.#items[parent])) break;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #down(index: number): void {
    const n = this.#items.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(this.#items[right], this.#items[left]) ? right : left;
      if (!this.#less(this.#items[child], this.#items[index])) break;
      this.#swap(index, child);
      index = child;
    }
  }
}
