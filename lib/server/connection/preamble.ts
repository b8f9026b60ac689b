/**
 * What a WebSocket starts with (SNOWFLAKE-PROTOCOL.md §3.3–3.4), as a sans-I/O
 * reader: the server reads exactly 8 bytes; the Turbo Tunnel token means 8
 * more bytes of ClientID follow, then encapsulated packets; anything else is a
 * client from before Turbo Tunnel, whose WebSocket carries tor's bytes as they
 * are (the seed's dual-mode bridge: those 8 bytes are tor's first bytes).
 */

import { concat } from "../../util/bytes.ts";
import { isTurbotunnelToken, TOKEN_LENGTH } from "../../turbotunnel/consts.ts";
import { CLIENT_ID_LENGTH } from "../../turbotunnel/client_id.ts";

export type Preamble =
  /** Token seen: `clientId` is the 8 ClientID bytes; `rest` the bytes after them. */
  | { kind: "turbotunnel"; clientId: Uint8Array; rest: Uint8Array }
  /** No token: `bytes` is everything read so far, the 8 bytes first. */
  | { kind: "legacy"; bytes: Uint8Array };

export class PreambleReader {
  #buffer: Uint8Array = new Uint8Array(0);

  /** Bytes held so far (at most 16 before a result). */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /** Adds bytes; returns the preamble once it is known, else null. */
  push(bytes: Uint8Array): Preamble | null {
    this.#buffer = this.#buffer.length ? concat([this.#buffer, bytes]) : bytes;
    if (this.#buffer.length < TOKEN_LENGTH) return null;
    if (!isTurbotunnelToken(this.#buffer.subarray(0, TOKEN_LENGTH))) {
      return { kind: "legacy", bytes: this.#buffer };
    }
    const end = TOKEN_LENGTH + CLIENT_ID_LENGTH;
    if (this.#buffer.length < end) return null;
    return {
      kind: "turbotunnel",
      clientId: this.#buffer.slice(TOKEN_LENGTH, end),
      rest: this.#buffer.subarray(end),
    };
  }
}
