/** Shared helpers of the KCP tests: build packets from segment fields, run a flush and decode what it sent. */
import type { Arq } from "../../lib/kcp/arq.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../../lib/net/packet_conn.ts";
import { CMD_PUSH, decodePacket, encodedLength, encodeSegment, type Segment } from "../../lib/kcp/segment.ts";

/** A segment with defaults for the fields not given (a PUSH of conv 1, wnd 65535, no data). */
export function segment(fields: Partial<Segment>): Segment {
  return {
    conv: 1,
    cmd: CMD_PUSH,
    frg: 0,
    wnd: 65535,
    ts: 0,
    sn: 0,
    una: 0,
    data: new Uint8Array(),
    ...fields,
  };
}

/** One packet holding `segments` back to back. */
export function packetOf(...segments: Partial<Segment>[]): Uint8Array {
  const full = segments.map(segment);
  const out = new Uint8Array(full.reduce((n, s) => n + encodedLength(s), 0));
  let offset = 0;
  for (const s of full) offset = encodeSegment(s, out, offset);
  return out;
}

/** Flushes `arq` at `now` (Arq.flush) and hands what it sent to `out`; returns the wake-up time flush asked for. */
export function flushTo(arq: Arq, now: number, out: (packet: Uint8Array) => void, ackOnly = false): number {
  const wake = arq.flush(now, ackOnly);
  for (let packet = arq.pollTransmit(); packet !== null; packet = arq.pollTransmit()) out(packet);
  return wake;
}

/** Drains what `arq` has to send (after handleInput or handleTimeout), decoded. */
export function transmitted(arq: Arq): Segment[] {
  const segments: Segment[] = [];
  for (let packet = arq.pollTransmit(); packet !== null; packet = arq.pollTransmit()) {
    segments.push(...decodePacket(packet.slice()));
  }
  return segments;
}

/** Flushes `arq` at `now`; returns the packets it sent, decoded, and the wake-up time it asked for. */
export function flushDecoded(
  arq: Arq,
  now: number,
  ackOnly = false,
): { packets: Segment[][]; sizes: number[]; wake: number } {
  const packets: Segment[][] = [];
  const sizes: number[] = [];
  const wake = flushTo(arq, now, (p) => {
    sizes.push(p.length);
    packets.push(decodePacket(p.slice()));
  }, ackOnly);
  return { packets, sizes, wake };
}

/** Flushes and returns every segment sent, in order, as [cmd, sn] pairs plus the segments. */
export function flushSegments(arq: Arq, now: number): Segment[] {
  return flushDecoded(arq, now).packets.flat();
}

export { sha256Hex as sha256 } from "../support/digest.ts";

/** A PacketConn the test feeds by hand: records what is written; readFrom waits until close. */
export class RecordingPacketConn implements PacketConn {
  readonly written: Packet[] = [];
  closed = false;
  #waiters: ((p: Packet | null) => void)[] = [];
  readFrom(): Promise<Packet | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  writeTo(packet: Uint8Array, addr: string): void {
    if (this.closed) throw new ConnClosedError("recording conn");
    this.written.push({ packet: packet.slice(), addr });
  }
  close(): void {
    this.closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }
}
