/**
 * One side of a Snowflake-style session built from our stack, the TypeScript
 * twin of the Go peer's `endpoint`: a KCP session with Snowflake's settings
 * (KcpSession.dial as the client's kcp.NewConn2, KcpListener as the server's
 * kcp.ServeConn), an smux session over it with Snowflake's config, and the one
 * stream (KCP-SMUX.md §5, §8.2).
 */

import type { PacketConn } from "../../../lib/net/packet_conn.ts";
import { KcpListener } from "../../../lib/kcp/listener.ts";
import { SNOWFLAKE_KCP_OPTIONS } from "../../../lib/kcp/options.ts";
import { KcpSession } from "../../../lib/kcp/session.ts";
import { SNOWFLAKE_SMUX_CLIENT, SNOWFLAKE_SMUX_SERVER } from "../../../lib/smux/config.ts";
import { SmuxSession } from "../../../lib/smux/session.ts";
import type { SmuxStream } from "../../../lib/smux/stream.ts";

export interface Endpoint {
  kcp: KcpSession;
  smux: SmuxSession;
  stream: SmuxStream;
  /** Closes the smux session, the KCP session and the listener (not the packet conn). */
  close(): void;
}

/** The client side: dial `remoteAddr` over `conn` and open one stream (id 3). */
export async function dialEndpoint(conn: PacketConn, remoteAddr: string): Promise<Endpoint> {
  const kcp = KcpSession.dial(conn, remoteAddr, { kcp: SNOWFLAKE_KCP_OPTIONS });
  const smux = SmuxSession.client(kcp, SNOWFLAKE_SMUX_CLIENT);
  const close = () => {
    smux.close();
    kcp.close();
  };
  try {
    return { kcp, smux, stream: await smux.openStream(), close };
  } catch (error) {
    close();
    throw error;
  }
}

/** The server side: accept one KCP session on `conn` and one stream on it. */
export async function acceptEndpoint(conn: PacketConn): Promise<Endpoint> {
  const listener = new KcpListener(conn, { kcp: SNOWFLAKE_KCP_OPTIONS });
  const kcp = await listener.accept();
  if (kcp === null) {
    listener.close();
    throw new Error("KCP listener closed before a session arrived");
  }
  const smux = SmuxSession.server(kcp, SNOWFLAKE_SMUX_SERVER);
  const close = () => {
    smux.close();
    kcp.close();
    listener.close();
  };
  const stream = await smux.acceptStream();
  if (stream === null) {
    close();
    throw new Error(`smux session ended before a stream arrived: ${smux.error?.message ?? "closed"}`);
  }
  return { kcp, smux, stream, close };
}
