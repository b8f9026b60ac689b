/**
 * A stand-in for tor's Extended ORPort (and plain ORPort), for tests and
 * benches: it plays tor's side of the SAFE_COOKIE handshake, verifies the
 * client's HMAC (the transport verifies tor's), records USERADDR and TRANSPORT,
 * answers OKAY, then hands the connection to a data handler. Misbehaviours
 * (a wrong server hash, a refusal, DENY) can be switched on to test the
 * transport's checks.
 */

import { randomBytes } from "node:crypto";
import { concat, toHex } from "../../lib/util/bytes.ts";
import {
  CLIENT_HASH_CONTEXT,
  encodeExtOrCommand,
  EXT_OR_CMD_DENY,
  EXT_OR_CMD_DONE,
  EXT_OR_CMD_OKAY,
  EXT_OR_CMD_TRANSPORT,
  EXT_OR_CMD_USERADDR,
  extOrPortHash,
  SERVER_HASH_CONTEXT,
} from "../../lib/pt/extorport_handshake.ts";

/** Writes all of `bytes` (Deno.Conn.write may write less). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** Reads exact byte counts from a Deno connection. */
export class ConnReader {
  #buffer: Uint8Array = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  /** Exactly `n` bytes, or null at EOF before them. */
  async readExact(n: number): Promise<Uint8Array | null> {
    while (this.#buffer.length < n) {
      const chunk = new Uint8Array(64 * 1024);
      const got = await this.conn.read(chunk).catch(() => null);
      if (got === null) return null;
      this.#buffer = concat([this.#buffer, chunk.subarray(0, got)]);
    }
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return out;
  }

  /** Whatever is buffered, then the next chunk; null at EOF. */
  async readSome(): Promise<Uint8Array | null> {
    if (this.#buffer.length) {
      const out = this.#buffer;
      this.#buffer = new Uint8Array(0);
      return out;
    }
    const chunk = new Uint8Array(64 * 1024);
    const got = await this.conn.read(chunk).catch(() => null);
    return got === null ? null : chunk.subarray(0, got);
  }
}

/** What the stand-in saw on one connection. */
export interface StandInSession {
  /** True when the client's hash was right (the stand-in then answered status 01). */
  clientHashOk: boolean;
  userAddr?: string;
  transport?: string;
  /** Why the handshake ended early, if it did. */
  error?: string;
}

export interface StandInOptions {
  /** The 32-byte cookie; omit for a plain ORPort (no handshake). */
  cookie?: Uint8Array;
  /** Auth types offered (default [1]). */
  authTypes?: number[];
  /** Send a wrong ServerHash (the transport must abort). */
  badServerHash?: boolean;
  /** Answer DENY instead of OKAY. */
  deny?: boolean;
  /** Handles the connection once the handshake is over (default: read and discard until EOF). */
  onData?: (conn: Deno.Conn, reader: ConnReader, session: StandInSession) => Promise<void>;
}

export interface StandIn {
  port: number;
  /** One entry per connection, in accept order, filled in as handshakes progress. */
  sessions: StandInSession[];
  /** Resolves after every handler has finished. */
  close(): Promise<void>;
}

async function handshake(
  reader: ConnReader,
  options: StandInOptions,
  session: StandInSession,
): Promise<boolean> {
  const conn = reader.conn;
  const cookie = options.cookie!;
  await writeAll(conn, new Uint8Array([...(options.authTypes ?? [1]), 0]));
  const chosen = await reader.readExact(33);
  if (!chosen) return (session.error = "EOF before auth type", false);
  if (chosen[0] !== 1) return (session.error = `client chose auth type ${chosen[0]}`, false);
  const clientNonce = chosen.subarray(1);
  const serverNonce = new Uint8Array(randomBytes(32));
  const serverHash = extOrPortHash(cookie, SERVER_HASH_CONTEXT, clientNonce, serverNonce);
  if (options.badServerHash) serverHash[0] ^= 1;
  await writeAll(conn, concat([serverHash, serverNonce]));
  const clientHash = await reader.readExact(32);
  if (!clientHash) return (session.error = "EOF before client hash", false);
  const expected = extOrPortHash(cookie, CLIENT_HASH_CONTEXT, clientNonce, serverNonce);
  session.clientHashOk = toHex(clientHash) === toHex(expected);
  await writeAll(conn, new Uint8Array([session.clientHashOk ? 1 : 0]));
  if (!session.clientHashOk) return (session.error = "client hash mismatch", false);
  for (;;) {
    const header = await reader.readExact(4);
    if (!header) return (session.error = "EOF in commands", false);
    const view = new DataView(header.buffer);
    const body = await reader.readExact(view.getUint16(2));
    if (!body) return (session.error = "EOF in command body", false);
    const cmd = view.getUint16(0);
    if (cmd === EXT_OR_CMD_USERADDR) session.userAddr = new TextDecoder().decode(body);
    else if (cmd === EXT_OR_CMD_TRANSPORT) session.transport = new TextDecoder().decode(body);
    else if (cmd === EXT_OR_CMD_DONE) break;
  }
  await writeAll(conn, encodeExtOrCommand(options.deny ? EXT_OR_CMD_DENY : EXT_OR_CMD_OKAY));
  return !options.deny;
}

/** Reads and discards until EOF. */
export async function drain(_conn: Deno.Conn, reader: ConnReader): Promise<void> {
  while (await reader.readSome()) {
    // discard
  }
}

/** Starts a stand-in on 127.0.0.1 on an ephemeral port. */
export function startExtOrPortStandIn(options: StandInOptions = {}): StandIn {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions: StandInSession[] = [];
  const handlers = new Set<Promise<void>>();
  const conns = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    const session: StandInSession = { clientHashOk: false };
    sessions.push(session);
    const reader = new ConnReader(conn);
    try {
      if (!options.cookie || await handshake(reader, options, session)) {
        await (options.onData ?? drain)(conn, reader, session);
      }
    } catch (error) {
      session.error ??= String(error);
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      const handler = serve(conn);
      handlers.add(handler);
      handler.finally(() => handlers.delete(handler));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    sessions,
    async close() {
      listener.close();
      await loop;
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await Promise.all(handlers);
    },
  };
}
