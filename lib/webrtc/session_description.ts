/**
 * RTCSessionDescription: an offer or answer as signalled between peers. Its
 * JSON form `{"type":"offer","sdp":"v=0..."}` is exactly what Snowflake sends
 * through the broker (SNOWFLAKE-PROTOCOL.md §6.5, §7.5).
 */

/** The kinds of session description, as in the W3C API. */
export type RTCSdpType = "offer" | "pranswer" | "answer" | "rollback";

/** An offer or answer as plain data (what JSON.parse of a signalled description gives). */
export interface RTCSessionDescriptionInit {
  /** What the description is. */
  type: RTCSdpType;
  /** The SDP text. */
  sdp?: string;
}

const SDP_TYPES: readonly string[] = ["offer", "pranswer", "answer", "rollback"];

/** An offer or answer; `JSON.stringify` gives the `{"type","sdp"}` form Snowflake signals. */
export class RTCSessionDescription {
  /** What the description is. */
  readonly type: RTCSdpType;
  /** The SDP text ("" if none was given). */
  readonly sdp: string;

  /** Throws TypeError if `init.type` is not an SDP type. */
  constructor(init: RTCSessionDescriptionInit) {
    if (!SDP_TYPES.includes(init?.type)) {
      throw new TypeError(
        `RTCSessionDescription: type "${init?.type}" is not offer, pranswer, answer or rollback`,
      );
    }
    this.type = init.type;
    this.sdp = init.sdp ?? "";
  }

  /** The `{"type","sdp"}` object that JSON.stringify writes. */
  toJSON(): { type: RTCSdpType; sdp: string } {
    return { type: this.type, sdp: this.sdp };
  }
}
