/**
 * The NAT type the client's offers carry (SNOWFLAKE-PROTOCOL.md §6.3), as Go's
 * `updateNATType` finds it: the RFC 5780 test (lib/nat) over the session's
 * STUN servers in turn until one decides; "unknown" if none does. Go tests
 * once per SOCKS connection and offers "unknown" until the test ends; ours
 * keeps the last answer per bridge-line ICE list and offers it at once, and
 * tests again (in the background) for a session that starts more than
 * {@link NAT_RETEST_MS} after the last test, so a moved laptop is noticed.
 */

import type { NatType } from "../messages/nat.ts";
import { discoverNatType } from "../nat/discover_nat_type.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";

/** A new session re-tests the NAT type when the last test started longer ago than this, ms (ours). */
export const NAT_RETEST_MS = 60_000;

/** What offers of one ICE list carry: `current` is read at each offer. */
export interface NatTypeEntry {
  readonly current: NatType;
}

interface Entry {
  current: NatType;
  testedAt: number;
  testing: boolean;
}

export class NatTypeCache {
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  readonly #abort = new AbortController();
  readonly #clock: Clock;

  constructor(logger: Logger, clock: Clock = systemClock) {
    this.#logger = logger;
    this.#clock = clock;
  }

  /** The entry for the bridge line's `iceList`, testing over `stunServers` (the session's choice) if due. */
  lookup(iceList: string[], stunServers: string[]): NatTypeEntry {
    const key = [...iceList].sort().join(",");
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { current: "unknown", testedAt: -Infinity, testing: false };
      this.#entries.set(key, entry);
    }
    if (!entry.testing && this.#clock.now() - entry.testedAt >= NAT_RETEST_MS) {
      this.#discover(stunServers, entry);
    }
    return entry;
  }

  /** Stops every test in progress. */
  close(): void {
    this.#abort.abort();
  }

  async #discover(stunServers: string[], entry: Entry): Promise<void> {
    entry.testing = true;
    entry.testedAt = this.#clock.now();
    try {
      for (const url of stunServers) {
        if (!/^stuns?:/i.test(url) || this.#abort.signal.aborted) continue;
        try {
          const natType = await discoverNatType({ stunUrl: url, signal: this.#abort.signal });
          if (natType === "unknown") continue;
          if (natType !== entry.current) this.#logger.info(`NAT type: ${natType}`);
          entry.current = natType;
          return;
        } catch (error) {
          if (this.#abort.signal.aborted) return;
          this.#logger.warn(`NAT type test failed over ${url}: ${errorMessage(error)}`);
        }
      }
      this.#logger.info("NAT type: unknown (no STUN server decided)");
    } finally {
      entry.testing = false;
    }
  }
}
