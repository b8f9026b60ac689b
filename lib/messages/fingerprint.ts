/**
 * Bridge fingerprints in client polls: hex of 20 bytes (RSA identity) or 32
 * bytes (ed25519), either case (SNOWFLAKE-PROTOCOL.md §4.2, Go
 * `common/bridgefingerprint`). The canonical form is uppercase hex.
 */

import { MessageError } from "./errors.ts";

/** The fingerprint assumed when a client names none (Go `defaultBridgeFingerprint`). */
export const DEFAULT_BRIDGE_FINGERPRINT = "2B280B23E1107BB62ABFC40DDCC8824814F80A72";

/** Uppercase hex of a 20- or 32-byte fingerprint; throws "cannot decode fingerprint" otherwise. */
export function parseBridgeFingerprint(hex: string): string {
  if ((hex.length !== 40 && hex.length !== 64) || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new MessageError("cannot decode fingerprint");
  }
  return hex.toUpperCase();
}
