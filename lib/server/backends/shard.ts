/**
 * Which of N KCP instances serves a ClientID (SNOWFLAKE-PROTOCOL.md §3.11):
 * Go 2.5.1 means to hash the ClientID with a keyed HMAC, but what it computes
 * reduces to the ClientID's 8 bytes read as a little-endian uint64, mod N. We
 * do the same, so a ClientID lands on the same instance index as in Go.
 */

/** Instance index in [0, n) for an 8-byte ClientID. */
export function kcpInstanceIndex(clientId: Uint8Array, n: number): number {
  if (n === 1) return 0;
  const view = new DataView(clientId.buffer, clientId.byteOffset, 8);
  return Number(view.getBigUint64(0, true) % BigInt(n));
}
