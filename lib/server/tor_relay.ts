/**
 * Copies one client stream (an smux stream, or a legacy WebSocket) to and from
 * its connection to tor, as Go Snowflake's server does (SNOWFLAKE-PROTOCOL.md
 * §8.7): when the client side ends, tor gets a FIN (half-close) and the stream
 * is closed; when tor's side ends, the stream is closed. Either way the whole
 * pair is then closed: nothing tor says after the client stream is gone could
 * be delivered.
 *
 * Each loop drops its last chunk before it waits for the next one: an idle
 * stream would otherwise keep its last chunk (and the whole read buffer under
 * it) alive for as long as it stays idle.
 */

import type { ByteConn } from "../net/byte_conn.ts";
import type { DuplexConn } from "../pt/or_conn.ts";

/** Byte counts the relay adds to as it copies. */
export interface RelayCounters {
  bytesToTor: number;
  bytesFromTor: number;
}

/** Relays until either side ends; resolves when both copies have stopped. Never rejects. */
export async function relayToTor(client: ByteConn, tor: DuplexConn, counters: RelayCounters): Promise<void> {
  const closeBoth = () => {
    client.close();
    tor.close();
  };
  const up = (async () => {
    try {
      for (let chunk = await client.read(); chunk; chunk = await client.read()) {
        counters.bytesToTor += chunk.length;
        await tor.write(chunk);
        chunk = null;
      }
      await tor.closeWrite();
    } catch {
      // either side failed: the pair ends
    }
    closeBoth();
  })();
  const down = (async () => {
    try {
      for (let chunk = await tor.read(); chunk; chunk = await tor.read()) {
        counters.bytesFromTor += chunk.length;
        await client.write(chunk);
        chunk = null;
      }
    } catch {
      // either side failed: the pair ends
    }
    closeBoth();
  })();
  await Promise.all([up, down]);
}
