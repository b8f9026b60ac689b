/**
 * kcp-go's RTT/RTO estimator (`update_ack`, KCP-SMUX.md §4.10): RFC 6298 in
 * signed 32-bit integers with arithmetic shifts, plus kcp-go's asymmetric
 * variance step (samples below srtt − rttvar weigh 8× less). One sample per
 * input packet, taken by the ARQ from the last ACK's echoed ts.
 */

export const RTO_NODELAY_MIN_MS = 30; // IKCP_RTO_NDL
export const RTO_MIN_MS = 100; // IKCP_RTO_MIN
export const RTO_DEFAULT_MS = 200; // IKCP_RTO_DEF
export const RTO_MAX_MS = 60_000; // IKCP_RTO_MAX

export class RttEstimator {
  /** Smoothed RTT in ms (rx_srtt); 0 until the first non-zero sample. */
  srtt = 0;
  /** RTT variance in ms (rx_rttvar). */
  rttvar = 0;
  /** Current retransmission timeout in ms (rx_rto), within [minRto, 60000]. */
  rto = RTO_DEFAULT_MS;

  /** `interval` is the flush interval (floor of the variance term); `minRto` is rx_minrto. */
  constructor(readonly interval: number, readonly minRto: number) {}

  /** Feeds one RTT sample in ms (≥ 0). A 0 sample leaves srtt 0, so the next one counts as first again (as in Go). */
  update(rtt: number): void {
    rtt |= 0;
    if (this.srtt === 0) {
      this.srtt = rtt;
      this.rttvar = rtt >> 1;
    } else {
      let delta = (rtt - this.srtt) | 0;
      this.srtt = (this.srtt + (delta >> 3)) | 0;
      if (delta < 0) delta = -delta | 0;
      if (rtt < ((this.srtt - this.rttvar) | 0)) {
        this.rttvar = (this.rttvar + ((delta - this.rttvar) >> 5)) | 0;
      } else {
        this.rttvar = (this.rttvar + ((delta - this.rttvar) >> 2)) | 0;
      }
    }
    // uint32(srtt) + max(interval, uint32(rttvar) << 2), all unsigned as in Go
    const variance = (this.rttvar << 2) >>> 0;
    const rto = ((this.srtt >>> 0) + Math.max(this.interval, variance)) >>> 0;
    this.rto = Math.min(RTO_MAX_MS, Math.max(this.minRto, rto));
  }
}
