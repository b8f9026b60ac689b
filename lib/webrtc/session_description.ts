/**
 * RTCSessionDescription: an offer or answer as signalled between peers. Its
 * JSON form `{"type":"offer","sdp":"v=0..."}` is exactly what Snowflake sends
 * through the broker (SNOWFLAKE-PROTOCOL.md §6.5, §7.5).
 */

export type RTCSdpType = "offer" | "pranswer" | "answer" | "rollback";

export interface RTCSessionDescriptionInit {
  type: RTCSdpType;
  sdp?: string;
}

const SDP_TYPES: readonly string[] = ["offer", "pranswer", "answer", "rollback"];

export class RTCSessionDescription {
  readonly type: RTCSdpType;
  readonly sdp: string;

  constructor(init: RTCSessionDescriptionInit) {
    if (!SDP_TYPES.includes(init?.type)) {
      throw new TypeError(
        `RTCSessionDescription: type "${init?.type}" is not offer, pranswer, answer or rollback`,
      );
    }
    this.type = init.type;
    this.sdp = init.sdp ?? "";
  }

  toJSON(): { type: RTCSdpType; sdp: string } {
    return { type: this.type, sdp: this.sdp };
  }
}
