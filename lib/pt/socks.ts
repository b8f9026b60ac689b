/**
 * The I/O adapter for {@link SocksServerMachine}: `acceptSocks` runs the SOCKS5
 * handshake on an accepted connection (tor's, for a PT client) and resolves to
 * the CONNECT request, whose `grant` or `reject` sends the reply. Malformed
 * input is answered with the fitting reply where the protocol has one, the
 * connection is closed, and the promise rejects with a {@link SocksError}. The
 * whole handshake is bounded by `timeoutMs` (goptlib: 5 s).
 */

import type { PtArgs } from "./args.ts";
import { encodeSocksReply, SocksError, SocksReply, SocksServerMachine } from "./socks_machine.ts";

export { SocksError, SocksReply } from "./socks_machine.ts";

/** goptlib's `socksRequestTimeout`. */
export const SOCKS_REQUEST_TIMEOUT_MS = 5_000;
/** Handshake messages are at most 513 bytes (RFC 1929); one read of this size holds any. */
const READ_CHUNK_BYTES = 1024;

/** A CONNECT request waiting for its answer. */
export interface SocksRequest {
  /** `host:port` (`[v6]:port`) as the client asked; Snowflake ignores it. */
  target: string;
  /** The PT arguments (username and password joined, parsed as client parameters). */
  args: PtArgs;
  /** The raw RFC 1929 fields, for logging; empty without authentication. */
  username: string;
  /** The raw RFC 1929 password (empty for tor's NUL placeholder). */
  password: string;
  /** Sends "succeeded" (BND 0.0.0.0:0); the connection then carries the tunnelled bytes. */
  grant(): Promise<void>;
  /** Sends `reply` and closes the connection. */
  reject(reply: SocksReply): Promise<void>;
}

/** Options of {@link acceptSocks}. */
export interface AcceptSocksOptions {
  /** Bound on the handshake. Default {@link SOCKS_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Runs the SOCKS5 handshake on `conn`; rejects with {@link SocksError} (conn closed) when it fails. */
export async function acceptSocks(conn: Deno.Conn, options: AcceptSocksOptions = {}): Promise<SocksRequest> {
  const machine = new SocksServerMachine();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, options.timeoutMs ?? SOCKS_REQUEST_TIMEOUT_MS);
  try {
    const buf = new Uint8Array(READ_CHUNK_BYTES);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (error) {
        if (timedOut) throw new SocksError("timed out waiting for a SOCKS request");
        throw new SocksError(`reading the SOCKS request: ${error instanceof Error ? error.message : error}`);
      }
      if (timedOut) throw new SocksError("timed out waiting for a SOCKS request");
      if (n === null) machine.handleEof();
      else machine.handleInput(buf.subarray(0, n));
      for (let out = machine.pollTransmit(); out; out = machine.pollTransmit()) {
        await writeAll(conn, out).catch(() => {}); // a failed write shows up as the next read's error
      }
      for (let event = machine.pollEvent(); event; event = machine.pollEvent()) {
        if (event.type === "error") throw event.error;
        const fields = event.request;
        let answered = false;
        const answer = async (code: SocksReply) => {
          if (answered) throw new SocksError("the SOCKS request was already answered");
          answered = true;
          await writeAll(conn, encodeSocksReply(code));
        };
        return {
          ...fields,
          grant: () => answer(SocksReply.succeeded),
          reject: async (reply: SocksReply) => {
            try {
              await answer(reply);
            } finally {
              closeQuietly(conn);
            }
          },
        };
      }
    }
  } catch (error) {
    closeQuietly(conn);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
