/**
 * The matcher's deadlines: waiting entries in arrival order, which is
 * deadline order because every entry of one kind has the same timeout. Finished
 * entries are skipped lazily; consumed slots are released as the head moves,
 * and the queue is compacted when finished entries outnumber live ones, so its
 * memory stays proportional to what is waiting.
 */

/** A first-in first-out queue of entries in deadline order (all share one timeout), with lazy removal. */
export class DeadlineQueue<T extends { deadline: number; state: string }> {
  #items: T[] = [];
  #head = 0;

  push(entry: T): void {
    this.#items.push(entry);
  }

  /** The earliest entry still live (state not "done"), dropping finished ones on the way. */
  peekLive(): T | undefined {
    while (this.#head < this.#items.length && this.#items[this.#head].state === "done") this.shift();
    return this.#items[this.#head];
  }

  shift(): void {
    this.#items[this.#head++] = undefined as unknown as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Drops finished entries when they outnumber `live` (keeps memory proportional to live entries). */
  compact(live: number): void {
    const stored = this.#items.length - this.#head;
    if (stored < 2 * live + 1024) return;
    this.#items = this.#items.slice(this.#head).filter((entry) => entry.state !== "done");
    this.#head = 0;
  }
}
