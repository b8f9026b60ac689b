/**
 * The worker half of lib/net/udp.ts: owns the UDP socket on its own thread, so
 * the socket is drained while the main thread runs KCP, and both directions
 * cross threads in batches. Protocol (see udp_batch.ts for the batch layout):
 *
 *   main → worker: open {hostname, port, queueSize, maxPendingSends}, send {batch},
 *                  ack (the last packets batch was consumed), close
 *   worker → main: opened {localAddr} | failed {message}, packets {batch, dropped},
 *                  closed {dropped}
 *
 * Receive: one loop (concurrent receives could reorder packets). Packets wait
 * here while a batch is with the main thread; at most `queueSize` of them,
 * more are dropped, as a full socket buffer drops. When the main thread acks,
 * whatever has gathered goes over in one message.
 *
 * Send: one send at a time (concurrent sends on one socket can go out
 * reordered); at most `maxPendingSends` wait, more are dropped.
 */

/// <reference lib="deno.worker" />

import { AsyncQueue } from "./async_queue.ts";
import { type Batch, BatchWriter, forEachPacket } from "./udp_batch.ts";
import { formatUdpAddr, MAX_UDP_PAYLOAD, parseUdpAddr } from "./udp_addr.ts";

export type ToWorker =
  | { type: "open"; hostname: string; port: number; queueSize: number; maxPendingSends: number }
  | { type: "send"; batch: Batch }
  | { type: "ack" }
  | { type: "close" };

export type FromWorker =
  | { type: "opened"; localAddr: string }
  | { type: "failed"; message: string }
  | { type: "packets"; batch: Batch; dropped: number }
  | { type: "closed"; dropped: number };

/** Parsed destinations kept for reuse; at the bound the cache is emptied (then refills). */
const ADDR_CACHE_SIZE = 1024;

let socket: Deno.DatagramConn | null = null;
let closing = false;
let dropped = 0;
let queueSize = 0;
/** Received packets not yet handed over; a batch is with the main thread while `inFlight`. */
let gathered = new BatchWriter();
let inFlight = false;
/** Packets waiting for the send loop; when full, more are dropped. */
let outgoing = new AsyncQueue<{ packet: Uint8Array; dest: Deno.NetAddr }>(1);
let sending = false;
const addrs = new Map<string, Deno.NetAddr>();

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      open(message.hostname, message.port, message.queueSize, message.maxPendingSends);
      return;
    case "send":
      queueSends(message.batch);
      return;
    case "ack":
      inFlight = false;
      handOver();
      return;
    case "close":
      closing = true;
      try {
        socket?.close();
      } catch {
        // already closed
      }
      if (socket === null) post({ type: "closed", dropped });
      return;
  }
};

function open(hostname: string, port: number, queue: number, pendingSends: number): void {
  queueSize = queue;
  outgoing = new AsyncQueue(pendingSends);
  try {
    socket = Deno.listenDatagram({ transport: "udp", hostname, port });
  } catch (error) {
    post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
    return;
  }
  post({ type: "opened", localAddr: formatUdpAddr(socket.addr as Deno.NetAddr) });
  receiveLoop(socket).then(() => post({ type: "closed", dropped }));
}

async function receiveLoop(socket: Deno.DatagramConn): Promise<void> {
  const buffer = new Uint8Array(MAX_UDP_PAYLOAD + 1);
  while (!closing) {
    let packet: Uint8Array;
    let from: Deno.Addr;
    try {
      [packet, from] = await socket.receive(buffer);
    } catch {
      continue; // closed (the loop ends), or an ICMP error for an earlier send: skip it
    }
    if (gathered.count >= queueSize) {
      dropped++; // the main thread is behind: drop, as a full socket buffer would
      continue;
    }
    gathered.add(packet, formatUdpAddr(from as Deno.NetAddr));
    handOver();
  }
}

/** Sends what has gathered, unless a batch is still with the main thread. */
function handOver(): void {
  if (inFlight || gathered.count === 0 || closing) return;
  const batch = gathered.finish();
  gathered = new BatchWriter();
  inFlight = true;
  post({ type: "packets", batch, dropped }, [batch.data]);
}

function queueSends(batch: Batch): void {
  if (closing || socket === null) return;
  forEachPacket(batch, (packet, addr) => {
    let dest = addrs.get(addr);
    if (!dest) {
      dest = parseUdpAddr(addr);
      if (addrs.size >= ADDR_CACHE_SIZE) addrs.clear();
      addrs.set(addr, dest);
    }
    if (!outgoing.push({ packet, dest })) dropped++; // the socket is behind: drop
  });
  if (!sending) sendLoop(socket);
}

async function sendLoop(socket: Deno.DatagramConn): Promise<void> {
  sending = true;
  for (let next = outgoing.tryShift(); next && !closing; next = outgoing.tryShift()) {
    const { packet, dest } = next;
    try {
      await socket.send(packet, dest);
    } catch {
      if (!closing) dropped++; // e.g. EHOSTUNREACH: lost, like any UDP packet
    }
  }
  sending = false;
}
