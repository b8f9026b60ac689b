/**
 * Events of RedialPacketConn, for the client to log and count carriers
 * ("redialing on same connection" in Go's client log).
 */

/** "carrierup": a dial succeeded and its carrier now carries the packets. */
export class CarrierUpEvent extends Event {
  constructor(readonly attempt: number) {
    super("carrierup");
  }
}

/** "carrierdown": the current carrier failed and was closed; `reason` says how. A redial follows. */
export class CarrierDownEvent extends Event {
  constructor(readonly attempt: number, readonly reason: Error) {
    super("carrierdown");
  }
}

/** "redial": dialing a replacement carrier (attempt 1, 2, … ; the first dial is attempt 0 and has no event). */
export class RedialEvent extends Event {
  constructor(readonly attempt: number) {
    super("redial");
  }
}

/** "close": the conn closed for good; `error` is the dial error, or null after `close()`. */
export class RedialCloseEvent extends Event {
  constructor(readonly error: Error | null) {
    super("close");
  }
}

export interface RedialPacketConnEventMap {
  carrierup: CarrierUpEvent;
  carrierdown: CarrierDownEvent;
  redial: RedialEvent;
  close: RedialCloseEvent;
}
