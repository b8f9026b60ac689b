/**
 * Reading a KCP packet's segment headers without decoding it (KCP-SMUX.md
 * §4.1): what MultipathScheduler and ReorderBuffer need to know of a packet
 * in passing. Every function stops at anything malformed and leaves the
 * packet itself to KCP, which rejects it.
 */

import { CMD_PUSH, SEGMENT_HEADER_SIZE } from "../kcp/segment.ts";
import { readU32, timediff } from "../kcp/u32.ts";
import { concat } from "../util/bytes.ts";

/** PUSH payload bytes in a KCP packet (headers only). */
export function pushBytes(packet: Uint8Array): number {
  let bytes = 0;
  for (let offset = 0; packet.length - offset >= SEGMENT_HEADER_SIZE;) {
    const len = readU32(packet, offset + 20);
    const end = offset + SEGMENT_HEADER_SIZE + len;
    if (end > packet.length) break;
    if (packet[offset + 4] === CMD_PUSH) bytes += len;
    offset = end;
  }
  return bytes;
}

/** The sn of a packet that is exactly one PUSH segment (stream mode's usual packet), else null. */
export function soloPushSn(packet: Uint8Array): number | null {
  if (packet.length < SEGMENT_HEADER_SIZE || packet[4] !== CMD_PUSH) return null;
  if (SEGMENT_HEADER_SIZE + readU32(packet, 20) !== packet.length) return null;
  return readU32(packet, 12);
}

/** The lowest and highest sn (u32 order) of a packet's PUSH segments; null when it has none. */
export function pushRange(packet: Uint8Array): { first: number; last: number } | null {
  let range: { first: number; last: number } | null = null;
  for (let offset = 0; packet.length - offset >= SEGMENT_HEADER_SIZE;) {
    const end = offset + SEGMENT_HEADER_SIZE + readU32(packet, offset + 20);
    if (end > packet.length) break;
    if (packet[offset + 4] === CMD_PUSH) {
      const sn = readU32(packet, offset + 12);
      if (!range) range = { first: sn, last: sn };
      else if (timediff(sn, range.first) < 0) range.first = sn;
      else if (timediff(sn, range.last) > 0) range.last = sn;
    }
    offset = end;
  }
  return range;
}

/**
 * `packet`'s segments other than PUSH (ACKs, window probes and tells) and
 * its PUSH segments, each kind in order, as two packets; null for a kind it
 * has none of. A truncated tail stays with the data.
 */
export function splitControl(packet: Uint8Array): [Uint8Array | null, Uint8Array | null] {
  const control: Uint8Array[] = [];
  const data: Uint8Array[] = [];
  let offset = 0;
  while (packet.length - offset >= SEGMENT_HEADER_SIZE) {
    const end = offset + SEGMENT_HEADER_SIZE + readU32(packet, offset + 20);
    if (end > packet.length) break;
    (packet[offset + 4] === CMD_PUSH ? data : control).push(packet.subarray(offset, end));
    offset = end;
  }
  if (offset < packet.length) data.push(packet.subarray(offset));
  if (control.length === 0) return [null, packet];
  if (data.length === 0) return [packet, null];
  return [concat(control), concat(data)];
}
