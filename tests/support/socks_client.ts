/**
 * Test helper: tor's side of the SOCKS5 handshake with a PT client: PT
 * arguments in the username/password as tor sends them (the first 255 bytes
 * in the username, the rest or one NUL in the password), one message at a
 * time (goptlib refuses pipelining).
 */

import { ConnReader, writeAll } from "../pt/extorport_standin.ts";

/** SOCKS5 CONNECT with username/password authentication, one message at a time (goptlib refuses pipelining). */
export async function socksConnect(
  port: number,
  args: string,
): Promise<{ conn: Deno.Conn; reader: ConnReader }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new ConnReader(conn);
  const expect = async (n: number, want: number[], what: string) => {
    const got = await reader.readExact(n);
    if (!got || want.some((byte, i) => got[i] !== byte)) throw new Error(`SOCKS ${what}: got ${got}`);
  };
  await writeAll(conn, new Uint8Array([5, 1, 2]));
  await expect(2, [5, 2], "method");
  // tor's convention: the first 255 bytes of the arguments in the username, the rest (or one NUL) in the password.
  const bytes = new TextEncoder().encode(args);
  const user = bytes.subarray(0, 255);
  const pass = bytes.length > 255 ? bytes.subarray(255) : new Uint8Array([0]);
  await writeAll(conn, new Uint8Array([1, user.length, ...user, pass.length, ...pass]));
  await expect(2, [1, 0], "auth");
  // The target is ignored by Snowflake; tor sends the bridge line's placeholder.
  await writeAll(conn, new Uint8Array([5, 1, 0, 1, 192, 0, 2, 3, 0, 1]));
  await expect(10, [5, 0, 0, 1], "connect");
  return { conn, reader };
}
