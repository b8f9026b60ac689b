/**
 * The packet interface the layers meet at: KCP runs over it, turbotunnel's
 * QueuePacketConn and RedialPacketConn implement it, and so do the carriers
 * (encapsulation over a WebSocket or data channel) and the in-memory links of
 * the tests. Like UDP, writes never block and may drop; `addr` is an opaque
 * string (on the server, a ClientID in hex).
 */

export interface Packet {
  packet: Uint8Array;
  addr: string;
}

export interface PacketConn {
  /** The next packet and its source; null once the conn is closed. */
  readFrom(): Promise<Packet | null>;
  /** Sends `packet` to `addr`. May drop it (a full queue), like UDP. The conn owns `packet` afterwards. */
  writeTo(packet: Uint8Array, addr: string): void;
  close(): void;
}

/** Raised by operations on a closed connection. */
export class ConnClosedError extends Error {
  override name = "ConnClosedError";
  constructor(what = "connection") {
    super(`operation on closed ${what}`);
  }
}
