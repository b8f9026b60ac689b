/**
 * The server side of Turbo Tunnel for in-memory tests: QueuePacketConn, a KCP
 * listener and an smux server session, with carriers attached as the server's
 * WebSocket handler does it (lib/server/carrier.ts): each one's packets go in
 * under one ClientID, and each one, while it is free (its downlink under the
 * high water), takes the client's next outgoing packet.
 */

import { KcpListener } from "../../lib/kcp/listener.ts";
import { SmuxSession } from "../../lib/smux/session.ts";
import type { SmuxStream } from "../../lib/smux/stream.ts";
import { QueuePacketConn } from "../../lib/turbotunnel/queue_packet_conn.ts";
import type { NetemServerEnd } from "../util/netem_packet_pair.ts";

const CLIENT = "client";
/** Bytes a carrier takes before it is busy (the server's WebSocket high water, 256 KiB). */
const HIGH_WATER = 256 * 1024;

export class TunnelServer {
  readonly conn = new QueuePacketConn();
  readonly listener = new KcpListener(this.conn);
  readonly #stop = new AbortController();
  #smux: SmuxSession | null = null;

  /** The first stream of the first session. */
  async acceptStream(): Promise<SmuxStream> {
    const kcp = await this.listener.accept();
    if (!kcp) throw new Error("listener closed");
    this.#smux = SmuxSession.server(kcp);
    const stream = await this.#smux.acceptStream();
    if (!stream) throw new Error("session closed");
    return stream;
  }

  /** Serves one carrier's far end until it closes. */
  attach(far: NetemServerEnd): void {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#stop.signal]);
    (async () => {
      for (let p = await far.readFrom(); p; p = await far.readFrom()) {
        this.conn.queueIncoming(p.packet, CLIENT);
      }
      stop.abort();
    })();
    (async () => {
      const queue = this.conn.outgoingQueue(CLIENT);
      while (!signal.aborted) {
        await far.drained(HIGH_WATER);
        const packet = await queue.shift(signal);
        if (packet === null) return;
        try {
          far.writeTo(packet, CLIENT);
        } catch {
          return; // closed: a packet taken by a dying WebSocket is lost, as on the server
        }
      }
    })();
  }

  close(): void {
    this.#stop.abort();
    this.#smux?.close();
    this.listener.close();
    this.conn.close();
  }
}
