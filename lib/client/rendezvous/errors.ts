/** Why a rendezvous with the broker gave no answer. */

/**
 * - `no-proxies`: the broker had no proxy for us (Go `StrNoProxies`);
 * - `timed-out`: the matched proxy did not answer in time (Go `StrTimedOut`), or our request timed out;
 * - `bad-reply`: the reply was not a poll response (junk, too large, bad armor, a broker error we do not know);
 * - `http-status`: not 200 (Go: "Unexpected error, no answer."), or an AMP cache's silent redirect;
 * - `network`: connecting, TLS, or the connection failed; or the caller aborted.
 */
export type RendezvousErrorKind = "no-proxies" | "timed-out" | "bad-reply" | "http-status" | "network";

/** A rendezvous that gave no answer; `kind` says why. */
export class RendezvousError extends Error {
  /** Always `"RendezvousError"`. */
  override name = "RendezvousError";
  /** `kind` as above; `message` for the log. */
  constructor(
    readonly kind: RendezvousErrorKind,
    message: string,
    /** The HTTP status, for `http-status`. */
    readonly status?: number,
  ) {
    super(message);
  }
}
