/**
 * Copies one client stream (an smux stream, or a legacy WebSocket) to and from
 * its connection to tor, as Go Snowflake's server does (SNOWFLAKE-PROTOCOL.md
 * §8.7): when the client side ends, tor gets a FIN (half-close) and the stream
 * is closed; when tor's side ends, the stream is closed. Either way the whole
 * pair is then closed: nothing tor says after the client stream is gone could
 * be delivered.
 *
 * Each chunk is moved by a link of a promise chain ({@link copy}): a loop that
 * read and wrote in one async frame would keep its last chunk (and the whole
 * read buffer under it, up to 64 KiB) alive in that frame for as long as the
 * stream stays idle, and each suspended frame costs memory of its own.
 */

import type { ByteConn } from "../../net/byte_conn.ts";
import type { DuplexConn } from "../../pt/or_conn.ts";

/** Byte counts the relay adds to as it copies. */
export interface RelayCounters {
  bytesToTor: number;
  bytesFromTor: number;
}

/** Relays until either side ends; resolves when both copies have stopped. Never rejects. */
export function relayToTor(client: ByteConn, tor: DuplexConn, counters: RelayCounters): Promise<void> {
  const closeBoth = () => {
    client.close();
    tor.close();
  };
  const up = copy(client, tor, (n) => counters.bytesToTor += n)
    .then(() => tor.closeWrite())
    .catch(() => {}) // either side failed: the pair ends
    .then(closeBoth);
  const down = copy(tor, client, (n) => counters.bytesFromTor += n)
    .catch(() => {})
    .then(closeBoth);
  return Promise.all([up, down]).then(() => {});
}

/**
 * Copies `from` to `to` until `from` ends; rejects if either fails. A chain of
 * promises, one chunk per link: an idle copy holds only its pending read (no
 * suspended frame that would also keep its last chunk, up to 64 KiB).
 */
function copy(from: ByteConn, to: ByteConn, count: (bytes: number) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const next = (): void => {
      from.read().then((chunk) => {
        if (chunk === null) return resolve();
        count(chunk.length);
        to.write(chunk).then(next, reject);
      }, reject);
    };
    next();
  });
}
