/** Test support: KCP packets built from [cmd, sn, payload bytes] triples (conv 1, ts 0, una 0). */

import { encodeSegment, SEGMENT_HEADER_SIZE } from "../../lib/kcp/segment.ts";
import { concat } from "../../lib/util/bytes.ts";

/** A packet of the segments given, back to back; each payload is `bytes` zeros, or the sn's low byte with `tag`. */
export function kcpPacket(segments: [number, number, number][], tag = false): Uint8Array {
  const parts = segments.map(([cmd, sn, bytes]) => {
    const out = new Uint8Array(SEGMENT_HEADER_SIZE + bytes);
    const data = new Uint8Array(bytes).fill(tag ? sn & 0xff : 0);
    encodeSegment({ conv: 1, cmd, frg: 0, wnd: 128, ts: 0, sn, una: 0, data }, out);
    return out;
  });
  return concat(parts);
}
