/**
 * The packet interface the layers meet at: KCP runs over it, turbotunnel's
 * QueuePacketConn and RedialPacketConn implement it, and so do the carriers
 * (encapsulation over a WebSocket or data channel) and the in-memory links of
 * the tests. Like UDP, writes never block and may drop; `addr` is an opaque
 * string (on the server, a ClientID in hex).
 */

/** One datagram and the address it came from (or goes to). */
export interface Packet {
  /** The datagram's bytes. */
  packet: Uint8Array;
  /** The peer's address, opaque (on the server, a ClientID in hex). */
  addr: string;
}

/**
 * Unreliable datagrams between addresses, as `net.PacketConn` in Go: the interface KCP, Turbo Tunnel and the carriers meet at.
 *
 * ```ts
 * // An echo: readFrom gives { packet, addr } until null (closed); writeTo may drop, like UDP.
 * async function echo(conn: PacketConn): Promise<void> {
 *   for (let next = await conn.readFrom(); next !== null; next = await conn.readFrom()) {
 *     conn.writeTo(next.packet, next.addr);
 *   }
 * }
 * ```
 */
export interface PacketConn {
  /** The next packet and its source; null once the conn is closed. */
  readFrom(): Promise<Packet | null>;
  /** Sends `packet` to `addr`. May drop it (a full queue), like UDP. The conn owns `packet` afterwards. */
  writeTo(packet: Uint8Array, addr: string): void;
  /** Closes the conn; pending and later `readFrom` calls return null. */
  close(): void;
}

/** Raised by operations on a closed connection. */
export class ConnClosedError extends Error {
  /** Always "ConnClosedError". */
  override name = "ConnClosedError";
  /** `what`: the kind of connection, for the message. */
  constructor(what = "connection") {
    super(`operation on closed ${what}`);
  }
}
