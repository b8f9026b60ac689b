/**
 * When the proxy polls the broker and tests its NAT type, as a sans-I/O
 * machine (SNOWFLAKE-PROTOCOL.md §6.2–§6.3). It owns the capacity accounting:
 * a poll holds a slot (Go counts the slot being polled for in `Clients`), a
 * match hands that slot to the client until {@link PollMachine.releaseSlot},
 * and with `capacity` slots taken no poll starts. At most one poll is in
 * flight, as in Go.
 *
 * Timing: a poll starts at most once per `pollIntervalMs` (the broker holds a
 * poll up to 10 s, so polls are back to back, as Go's buffered ticker makes
 * them); after a broker error the wait doubles per consecutive error, from
 * `pollIntervalMs` up to `maxBackoffMs` (Go waits 5 s every time). The NAT
 * test runs once at start and then every `natRetestIntervalMs` (0: never
 * again); it runs beside polling and never delays a poll.
 *
 * Verbs: `handleInput(now, outcome)` when a poll or NAT test finishes,
 * `handleTimeout(now)` when the timer fires, `pollTransmit(now)` for the next
 * action to start (drain until null after any call), `pollTimeout()` for when
 * to wake next. No clock or timer in here: the adapter (proxy.ts) owns them.
 */

/** What the adapter should start now. */
export type PollAction =
  | {
    kind: "poll";
    /** `Clients` for the poll: slots in use (this poll's included), rounded down to a multiple of 8. */
    clients: number;
  }
  | { kind: "nat-test" };

/** How a started action ended. */
export type PollOutcome =
  /** The broker matched a client: the poll's slot now belongs to that client. */
  | { kind: "offer" }
  /** The broker had no client (or the reply was an offer we refused): the slot is free again. */
  | { kind: "no-match" }
  /** HTTP error, bad status, junk reply: the slot is free, and the next poll backs off. */
  | { kind: "error" }
  | { kind: "nat-tested" };

export interface PollMachineConfig {
  /** Most clients at once; 0 = unlimited. */
  capacity: number;
  /** Least time between the starts of two polls, ms. */
  pollIntervalMs: number;
  /** Longest wait after consecutive broker errors, ms. */
  maxBackoffMs: number;
  /** Time between NAT tests, ms; 0 = only the first. */
  natRetestIntervalMs: number;
}

export interface PollMachineStats {
  /** Slots held by clients plus the one a poll in flight holds. */
  slotsInUse: number;
  clients: number;
  polls: number;
  matches: number;
  brokerErrors: number;
  /** Consecutive broker errors so far (0 after any good reply). */
  consecutiveErrors: number;
}

export class PollMachine {
  readonly #config: PollMachineConfig;
  #clients = 0;
  #pollInFlight = false;
  #nextPollAt: number;
  #lastPollStart = -Infinity;
  #natInFlight = false;
  #nextNatTestAt: number | null;
  #stopped = false;
  #polls = 0;
  #matches = 0;
  #brokerErrors = 0;
  #consecutiveErrors = 0;

  constructor(config: PollMachineConfig, now: number) {
    if (!Number.isInteger(config.capacity) || config.capacity < 0) {
      throw new RangeError(`capacity ${config.capacity} is not a whole number >= 0`);
    }
    if (!(config.pollIntervalMs > 0)) {
      throw new RangeError(`poll interval ${config.pollIntervalMs} ms is not > 0`);
    }
    this.#config = config;
    this.#nextPollAt = now;
    this.#nextNatTestAt = now;
  }

  /** Starts nothing more (in-flight actions may still report). */
  stop(): void {
    this.#stopped = true;
  }

  /** A client's session ended (on every path): its slot is free. */
  releaseSlot(): void {
    if (this.#clients === 0) throw new Error("PollMachine.releaseSlot: no client holds a slot");
    this.#clients--;
  }

  handleInput(now: number, outcome: PollOutcome): void {
    if (outcome.kind === "nat-tested") {
      this.#natInFlight = false;
      const interval = this.#config.natRetestIntervalMs;
      this.#nextNatTestAt = interval > 0 ? now + interval : null;
      return;
    }
    if (!this.#pollInFlight) {
      throw new Error(`PollMachine.handleInput: ${outcome.kind} without a poll in flight`);
    }
    this.#pollInFlight = false;
    const earliest = this.#lastPollStart + this.#config.pollIntervalMs;
    switch (outcome.kind) {
      case "offer":
        this.#clients++;
        this.#matches++;
        this.#consecutiveErrors = 0;
        this.#nextPollAt = Math.max(now, earliest);
        return;
      case "no-match":
        this.#consecutiveErrors = 0;
        this.#nextPollAt = Math.max(now, earliest);
        return;
      case "error": {
        this.#brokerErrors++;
        this.#consecutiveErrors++;
        const backoff = Math.min(
          this.#config.maxBackoffMs,
          this.#config.pollIntervalMs * 2 ** Math.min(30, this.#consecutiveErrors - 1),
        );
        this.#nextPollAt = Math.max(now + backoff, earliest);
        return;
      }
    }
  }

  /** Nothing to do here but be woken: due actions come out of {@link pollTransmit}. */
  handleTimeout(_now: number): void {}

  /** The next action to start now, or null. */
  pollTransmit(now: number): PollAction | null {
    if (this.#stopped) return null;
    if (!this.#natInFlight && this.#nextNatTestAt !== null && now >= this.#nextNatTestAt) {
      this.#natInFlight = true;
      return { kind: "nat-test" };
    }
    if (this.#canPoll() && now >= this.#nextPollAt) {
      this.#pollInFlight = true;
      this.#lastPollStart = now;
      this.#polls++;
      const slots = this.#clients + 1;
      return { kind: "poll", clients: Math.floor(slots / 8) * 8 };
    }
    return null;
  }

  /** When something becomes due (ms, same clock as `now`), or null while waiting on I/O or a free slot. */
  pollTimeout(): number | null {
    if (this.#stopped) return null;
    const times: number[] = [];
    if (this.#canPoll()) times.push(this.#nextPollAt);
    if (!this.#natInFlight && this.#nextNatTestAt !== null) times.push(this.#nextNatTestAt);
    return times.length ? Math.min(...times) : null;
  }

  stats(): PollMachineStats {
    return {
      slotsInUse: this.#clients + (this.#pollInFlight ? 1 : 0),
      clients: this.#clients,
      polls: this.#polls,
      matches: this.#matches,
      brokerErrors: this.#brokerErrors,
      consecutiveErrors: this.#consecutiveErrors,
    };
  }

  #canPoll(): boolean {
    const capacity = this.#config.capacity;
    return !this.#pollInFlight && (capacity === 0 || this.#clients < capacity);
  }
}
