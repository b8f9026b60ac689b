/**
 * Events of RedialPacketConn, for the client to log and count carriers
 * ("redialing on same connection" in Go's client log).
 */

/** "carrierup": a dial succeeded and its carrier now carries the packets. */
export class CarrierUpEvent extends Event {
  /** `attempt`: 0 for the first dial, then 1, 2, … */
  constructor(readonly attempt: number) {
    super("carrierup");
  }
}

/** "carrierdown": the current carrier failed and was closed; `reason` says how. A redial follows. */
export class CarrierDownEvent extends Event {
  /** `attempt`: the carrier's dial attempt; `reason`: why it failed. */
  constructor(readonly attempt: number, readonly reason: Error) {
    super("carrierdown");
  }
}

/** "redial": dialing a replacement carrier (attempt 1, 2, … ; the first dial is attempt 0 and has no event). */
export class RedialEvent extends Event {
  /** `attempt`: 1 for the first redial, then 2, … */
  constructor(readonly attempt: number) {
    super("redial");
  }
}

/** "close": the conn closed for good; `error` is the dial error, or null after `close()`. */
export class RedialCloseEvent extends Event {
  /** `error`: the dial error that ended the conn, or null after `close()`. */
  constructor(readonly error: Error | null) {
    super("close");
  }
}

/** The events of a {@link RedialPacketConn} by type, for typed `addEventListener`. */
export interface RedialPacketConnEventMap {
  /** A dial succeeded. */
  carrierup: CarrierUpEvent;
  /** The current carrier failed. */
  carrierdown: CarrierDownEvent;
  /** A replacement carrier is being dialed. */
  redial: RedialEvent;
  /** The conn closed for good. */
  close: RedialCloseEvent;
}
