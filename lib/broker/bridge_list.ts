/**
 * The broker's bridge list (SNOWFLAKE-PROTOCOL.md §4.9): which WebSocket relay
 * a proxy is sent to for the bridge fingerprint a client asked for. File
 * format (`--bridge-list-path`): one JSON object per line with exactly the keys
 * `displayName`, `webSocketAddress` and `fingerprint` (hex, 20 or 32 bytes).
 * Unknown keys, a bad fingerprint or a relay URL that is not `ws:`/`wss:`
 * reject the whole file, naming the line; blank lines are skipped. Without a
 * file the list holds the Tor Project's default bridge.
 */

import { errorMessage } from "../util/errors.ts";
import { DEFAULT_BRIDGE_FINGERPRINT, parseBridgeFingerprint } from "../messages/fingerprint.ts";

export interface BridgeInfo {
  displayName: string;
  webSocketAddress: string;
  /** Uppercase hex. */
  fingerprint: string;
}

/** A bridge list file that cannot be used. */
export class BridgeListError extends Error {
  override name = "BridgeListError";
}

/** Go `NewBrokerContext`'s built-in list. */
export const DEFAULT_BRIDGE: BridgeInfo = {
  displayName: "default",
  webSocketAddress: "wss://snowflake.torproject.net/",
  fingerprint: DEFAULT_BRIDGE_FINGERPRINT,
};

const KEYS = ["displayName", "webSocketAddress", "fingerprint"];

export class BridgeList {
  readonly #byFingerprint: Map<string, BridgeInfo>;

  constructor(bridges: BridgeInfo[] = [DEFAULT_BRIDGE]) {
    this.#byFingerprint = new Map(bridges.map((bridge) => [bridge.fingerprint.toUpperCase(), bridge]));
  }

  /** Parses the file format above; throws {@link BridgeListError}. */
  static parse(text: string): BridgeList {
    const bridges: BridgeInfo[] = [];
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "") continue;
      const where = `bridge list line ${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new BridgeListError(`${where}: ${errorMessage(error)}`);
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new BridgeListError(`${where}: not a JSON object`);
      }
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!KEYS.includes(key)) throw new BridgeListError(`${where}: unknown field "${key}"`);
      }
      for (const key of KEYS) {
        if (record[key] !== undefined && typeof record[key] !== "string") {
          throw new BridgeListError(`${where}: "${key}" is not a string`);
        }
      }
      let fingerprint: string;
      try {
        fingerprint = parseBridgeFingerprint(String(record.fingerprint ?? ""));
      } catch {
        throw new BridgeListError(`${where}: fingerprint is not 20 or 32 bytes of hex`);
      }
      const webSocketAddress = String(record.webSocketAddress ?? "");
      if (!/^wss?:\/\/[^/]/.test(webSocketAddress) || !URL.canParse(webSocketAddress)) {
        throw new BridgeListError(
          `${where}: webSocketAddress "${webSocketAddress}" is not a ws:// or wss:// URL`,
        );
      }
      bridges.push({ displayName: String(record.displayName ?? ""), webSocketAddress, fingerprint });
    }
    if (bridges.length === 0) throw new BridgeListError("bridge list has no bridges");
    return new BridgeList(bridges);
  }

  /** The bridge for an (uppercase hex) fingerprint, or undefined ("bridge not found"). */
  get(fingerprint: string): BridgeInfo | undefined {
    return this.#byFingerprint.get(fingerprint);
  }

  get size(): number {
    return this.#byFingerprint.size;
  }
}
