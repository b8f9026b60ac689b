/**
 * goptlib's `DialOr` (SNOWFLAKE-PROTOCOL.md §9.4, §9.9, §8.7): connect to tor
 * for one client connection. With an Extended ORPort and cookie configured, do
 * the SAFE_COOKIE handshake and send `USERADDR` and `TRANSPORT`; otherwise a
 * plain TCP connection to the ORPort. Connecting and the handshake share one
 * 5 s deadline (goptlib's), after which the attempt is abandoned.
 */

import { connect as nodeConnect } from "node:net";
import { randomBytes } from "node:crypto";
import { formatIp, type TcpAddr } from "../net/addr.ts";
import { readAuthCookieFile } from "./auth_cookie.ts";
import { ExtOrPortError, ExtOrPortHandshake } from "./extorport_handshake.ts";
import { denoDuplexConn, type DuplexConn, nodeDuplexConn, prependRead } from "./or_conn.ts";

/** Where tor listens, as the server environment gives it. */
export interface OrTarget {
  /** tor's ORPort (plain, no USERADDR). */
  orAddr?: TcpAddr;
  /** tor's Extended ORPort (preferred when set, with `authCookiePath`). */
  extendedOrAddr?: TcpAddr;
  /** The Extended ORPort's auth cookie file. */
  authCookiePath?: string;
}

export interface DialOrOptions {
  /** Source IP for the connection (`orport-srcaddr`); default: the system's choice. */
  localAddress?: string;
  /** Deadline for connect + handshake, ms. Default 5000 (goptlib). */
  timeoutMs?: number;
}

/** Connecting to tor failed; the message says which step. */
export class DialOrError extends Error {
  override name = "DialOrError";
}

export const DIAL_OR_TIMEOUT_MS = 5_000; // goptlib's ExtORPort setup deadline

async function connectTcp(addr: TcpAddr, localAddress: string | undefined): Promise<DuplexConn> {
  const hostname = formatIp(addr.ip);
  if (localAddress === undefined) {
    return denoDuplexConn(await Deno.connect({ hostname, port: addr.port, transport: "tcp" }));
  }
  const socket = nodeConnect({ host: hostname, port: addr.port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return nodeDuplexConn(socket);
}

/** Runs the ExtORPort handshake over `conn`; returns bytes tor sent after OKAY. */
async function extOrPortHandshake(conn: DuplexConn, handshake: ExtOrPortHandshake): Promise<Uint8Array> {
  for (;;) {
    for (let out = handshake.pollTransmit(); out; out = handshake.pollTransmit()) await conn.write(out);
    if (handshake.done) return handshake.leftover;
    const bytes = await conn.read();
    if (bytes === null) throw new ExtOrPortError("unexpected EOF");
    handshake.handleInput(bytes);
  }
}

/** Opens a connection to tor for a client at `userAddr` (may be "") using transport `methodName`. */
export async function dialOr(
  target: OrTarget,
  userAddr: string,
  methodName: string,
  options: DialOrOptions = {},
): Promise<DuplexConn> {
  const useExtended = target.extendedOrAddr !== undefined && target.authCookiePath !== undefined;
  const addr = useExtended ? target.extendedOrAddr : target.orAddr;
  if (!addr) throw new DialOrError("no ORPort or Extended ORPort configured");
  let conn: DuplexConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DialOrError(`timed out after ${options.timeoutMs ?? DIAL_OR_TIMEOUT_MS} ms`)),
      options.timeoutMs ?? DIAL_OR_TIMEOUT_MS,
    );
  });
  const attempt = (async () => {
    conn = await connectTcp(addr, options.localAddress);
    if (!useExtended) return conn;
    const cookie = await readAuthCookieFile(target.authCookiePath!);
    const handshake = new ExtOrPortHandshake({
      cookie,
      clientNonce: new Uint8Array(randomBytes(32)),
      userAddr,
      transport: methodName,
    });
    return prependRead(conn, await extOrPortHandshake(conn, handshake));
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } catch (error) {
    conn?.close();
    attempt.then((late) => late.close(), () => {}); // a connect that completes after the deadline
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
