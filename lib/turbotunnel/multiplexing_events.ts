/**
 * Events of MultiplexingPacketConn: RedialPacketConn's ("carrierup",
 * "carrierdown", "redial", "close"; redial_events.ts), with `attempt` naming
 * the carrier (its dial's number), plus "dialerror" for a dial that failed
 * while other carriers carry on.
 */

import type { RedialPacketConnEventMap } from "./redial_events.ts";

/** "dialerror": dial `attempt` failed while other carriers are live or dialing; it is retried at `retryAt` (clock ms). */
export class DialErrorEvent extends Event {
  constructor(readonly attempt: number, readonly error: Error, readonly retryAt: number) {
    super("dialerror");
  }
}

export interface MultiplexingPacketConnEventMap extends RedialPacketConnEventMap {
  dialerror: DialErrorEvent;
}
