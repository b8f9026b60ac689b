/**
 * Copies one client stream (an smux stream, or a legacy WebSocket) to and from
 * its connection to tor, as Go Snowflake's server does (SNOWFLAKE-PROTOCOL.md
 * §8.7): when the client side ends, tor gets a FIN (half-close) and the stream
 * is closed; when tor's side ends, the stream is closed. Either way the whole
 * pair is then closed: nothing tor says after the client stream is gone could
 * be delivered.
 *
 * Each chunk is moved by a call of its own ({@link moveChunk}): a loop that
 * read and wrote in one async frame would keep its last chunk (and the whole
 * read buffer under it, up to 64 KiB) alive in that frame for as long as the
 * stream stays idle.
 */

import type { ByteConn } from "../../net/byte_conn.ts";
import type { DuplexConn } from "../../pt/or_conn.ts";

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
      for (let more = true; more;) more = await moveChunk(client, tor, (n) => counters.bytesToTor += n);
      await tor.closeWrite();
    } catch {
      // either side failed: the pair ends
    }
    closeBoth();
  })();
  const down = (async () => {
    try {
      for (let more = true; more;) more = await moveChunk(tor, client, (n) => counters.bytesFromTor += n);
    } catch {
      // either side failed: the pair ends
    }
    closeBoth();
  })();
  await Promise.all([up, down]);
}

/** Moves one chunk from `from` to `to`, counting its bytes; false at the end of `from`. */
async function moveChunk(from: ByteConn, to: ByteConn, count: (bytes: number) => void): Promise<boolean> {
  const chunk = await from.read();
  if (chunk === null) return false;
  count(chunk.length);
  await to.write(chunk);
  return true;
}
