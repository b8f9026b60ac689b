/**
 * What a Turbo Tunnel carrier (one WebSocket) talks to: the KCP side of the
 * server, in this thread or in Web Workers. Carriers only move packets
 * (SNOWFLAKE-PROTOCOL.md §8.4): packets in go to `queueIncoming`, packets out
 * come from the client's `outgoingQueue`, shared by all of that client's
 * WebSockets.
 */

import type { ClientId } from "../../turbotunnel/client_id.ts";
import type { ClientSendQueue } from "../../turbotunnel/send_queue.ts";
import type { TunnelCounters } from "../operations/counters.ts";

export interface TurbotunnelBackend {
  /** Records the USERADDR of the WebSocket that just announced `clientId` (§8.6). */
  setClientAddr(clientId: ClientId, addr: string): void;
  /** A packet from client `clientId`. Takes ownership. */
  queueIncoming(packet: Uint8Array, clientId: ClientId): void;
  /** The client's send queue; calling it marks the client as seen. */
  outgoingQueue(clientId: ClientId): ClientSendQueue;
  /** The KCP instances' counters, added up. */
  counters(): Promise<TunnelCounters>;
  /** Stops every KCP instance and closes their sessions. */
  close(): Promise<void>;
}
