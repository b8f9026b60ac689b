/**
 * kcp-go's congestion window (KCP-SMUX.md §4.11), used only when nc = 0
 * (Snowflake sets nc = 1, which turns all of this off). Slow start and
 * congestion avoidance in bytes (`incr`) on una advances; rate halving after
 * fast/early retransmits, collapse to 1 after a timeout. All u32 arithmetic as
 * in Go, including the wrap of cwnd = ssthresh + 2³²−1 when fastresend is 0.
 */

const THRESH_INIT = 2; // IKCP_THRESH_INIT
const THRESH_MIN = 2; // IKCP_THRESH_MIN

export class CongestionWindow {
  /** Segments allowed in flight; 0 until the first flush, so that flush moves no data (as in Go). */
  cwnd = 0;
  #incr = 0;
  #ssthresh = THRESH_INIT;

  constructor(readonly mss: number) {}

  /** On input that advanced una, with the peer's window `rmtWnd`. */
  grow(rmtWnd: number): void {
    if (this.cwnd >= rmtWnd) return;
    const mss = this.mss;
    if (this.cwnd < this.#ssthresh) {
      this.cwnd++;
      this.#incr = (this.#incr + mss) >>> 0;
    } else {
      if (this.#incr < mss) this.#incr = mss;
      this.#incr = (this.#incr + Math.floor(mss * mss / this.#incr) + Math.floor(mss / 16)) >>> 0;
      if ((this.cwnd + 1) * mss <= this.#incr) this.cwnd = Math.ceil(this.#incr / mss);
    }
    if (this.cwnd > rmtWnd) {
      this.cwnd = rmtWnd;
      this.#incr = Math.imul(rmtWnd, mss) >>> 0;
    }
  }

  /**
   * At the end of a flush that made `changed` fast/early retransmits and `lost`
   * timeouts, with `inflight` = snd_nxt − snd_una, the flush's effective
   * `window`, and the fast-resend threshold `resent`.
   */
  afterFlush(changed: number, lost: number, inflight: number, window: number, resent: number): void {
    const mss = this.mss;
    if (changed > 0) {
      this.#ssthresh = Math.max(THRESH_MIN, Math.floor(inflight / 2));
      this.cwnd = (this.#ssthresh + resent) >>> 0; // with fastresend 0 this wraps to ssthresh − 1, as in Go
      this.#incr = Math.imul(this.cwnd, mss) >>> 0;
    }
    if (lost > 0) {
      this.#ssthresh = Math.max(THRESH_MIN, Math.floor(window / 2));
      this.cwnd = 1;
      this.#incr = mss;
    }
    if (this.cwnd < 1) {
      this.cwnd = 1;
      this.#incr = mss;
    }
  }
}
