/**
 * ClientID: 8 random bytes naming one client session across all its carriers
 * (SNOWFLAKE-PROTOCOL.md §3.2). The server keys its queues and KCP sessions by
 * the 16-lowercase-hex string form, which is also the "address" of the
 * session's packets on QueuePacketConn.
 */

import { fromHex, toHex } from "../util/bytes.ts";

/** Bytes of a ClientID on the wire. */
export const CLIENT_ID_LENGTH = 8;

/**
 * The 8-byte random ClientID that names a Turbo Tunnel session across carriers (SNOWFLAKE-PROTOCOL.md §3).
 *
 * ```ts
 * const id = ClientId.random();
 * console.log(`${id}`, ClientId.fromString(id.toString()).toString() === id.toString());
 * ```
 */
export class ClientId {
  /** The 8 bytes as sent on the wire. */
  readonly bytes: Uint8Array;
  #string: string | undefined; // computed once: the server keys every packet by it

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** A fresh ClientID from the CSPRNG, as each new client session makes one. */
  static random(): ClientId {
    return new ClientId(crypto.getRandomValues(new Uint8Array(CLIENT_ID_LENGTH)));
  }

  /** The ClientID in `bytes` (copied); RangeError unless exactly 8 bytes. */
  static fromBytes(bytes: Uint8Array): ClientId {
    if (bytes.length !== CLIENT_ID_LENGTH) {
      throw new RangeError(`a ClientID is ${CLIENT_ID_LENGTH} bytes, got ${bytes.length}`);
    }
    return new ClientId(bytes.slice());
  }

  /** The ClientID whose string form is `hex` (16 hex digits). */
  static fromString(hex: string): ClientId {
    if (!/^[0-9a-fA-F]{16}$/.test(hex)) {
      throw new RangeError(`a ClientID is 16 hex digits, got ${JSON.stringify(hex)}`);
    }
    return new ClientId(fromHex(hex));
  }

  /** 16 lowercase hex digits, as Go's ClientID.String(). */
  toString(): string {
    return this.#string ??= toHex(this.bytes);
  }
}
