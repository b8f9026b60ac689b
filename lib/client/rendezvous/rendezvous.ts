/**
 * Rendezvous with the broker (SNOWFLAKE-PROTOCOL.md §4.2, §5, §7.6): send the
 * client poll (our SDP offer, NAT type and bridge fingerprint) and get a
 * proxy's SDP answer back. Three methods, chosen as the Go client chooses:
 * - `ampcache` when an AMP cache URL is set: `GET` with the poll in the path
 *   (`amp/client/…`, rewritten to the cache's form), the reply AMP-armored HTML;
 * - `domain-fronting` when fronts are set: `POST /client` over TLS to the front
 *   (SNI = front) with `Host:` the broker's host; the fronts are tried in turn,
 *   the next one after a failure, and the one that worked is used next time
 *   (also for AMP through a front);
 * - `https`: `POST /client` straight to the broker URL.
 *
 * As the Go client: a status other than 200 is an error ("Unexpected error, no
 * answer."), so is an AMP reply carrying `Location`; at most 100000 bytes of a
 * reply are read, more is an error; the broker's `no snowflake proxies
 * currently available` and `timed out waiting for answer!` become the
 * `no-proxies` and `timed-out` kinds. Each attempt is bounded: connect plus TLS
 * by 10 s (Go's TLS handshake timeout), the reply by `timeoutMs` (default 15 s,
 * Go's ResponseHeaderTimeout; the broker holds a poll for up to 10 s).
 */

import type { NatType } from "../../messages/nat.ts";
import { decodeAmpArmor } from "../../messages/amp_armor.ts";
import { encodeAmpPath } from "../../messages/amp_path.ts";
import {
  type ClientPollResponse,
  decodeClientPollResponse,
  encodeClientPollRequest,
  STR_NO_PROXIES,
  STR_TIMED_OUT,
} from "../../messages/client_poll.ts";
import { parseSessionDescription } from "../../messages/session_description.ts";
import { Logger, nullSink } from "../../util/log.ts";
import { errorMessage } from "../../util/errors.ts";
import { ampCacheUrl } from "./amp_cache_url.ts";
import { RendezvousError } from "./errors.ts";
import type { Http1Response } from "./http1_response.ts";
import { type Dial, roundTrip, type RoundTripRequest } from "./http1_round_trip.ts";

export { RendezvousError, type RendezvousErrorKind } from "./errors.ts";

/** Go `readLimit`: the most bytes read from a broker reply. */
export const RENDEZVOUS_READ_LIMIT_BYTES = 100_000;
/** Go's `ResponseHeaderTimeout` for the broker transport. */
export const DEFAULT_RENDEZVOUS_TIMEOUT_MS = 15_000;
/** Go's default TLS handshake timeout, here for TCP connect and TLS together. */
export const RENDEZVOUS_CONNECT_TIMEOUT_MS = 10_000;

/** What {@link createRendezvous} needs: the rendezvous part of the client's transport options, and test hooks. */
export interface RendezvousOptions {
  /** The broker's base URL; `client` and `amp/client/…` are resolved against it. */
  brokerUrl: string;
  /** Front domains (`host` or `host:port`), tried in turn; empty = no fronting. */
  fronts: string[];
  /** AMP cache URL: AMP rendezvous when set. */
  ampCacheUrl?: string;
  /** Bridge fingerprint for the client poll (the broker assumes the default bridge without one). */
  fingerprint?: string;
  /** Bound on waiting for each reply. Default {@link DEFAULT_RENDEZVOUS_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Extra PEM CAs (tests); the system's roots are trusted as well. */
  caCerts?: string[];
  /** Opens TCP connections (default `Deno.connect`); tests point names at loopback. */
  dial?: Dial;
}

/** A way to reach the broker, made by {@link createRendezvous}. */
export interface Rendezvous {
  /** Which of the three methods the options selected. */
  readonly method: "https" | "domain-fronting" | "ampcache";
  /** Sends the offer (SDP as JSON text) and resolves to the proxy's answer (SDP as JSON text). */
  exchange(offer: string, natType: NatType, signal?: AbortSignal): Promise<string>;
}

/** A rendezvous with the method `options` select; throws {@link RendezvousError} (`bad-reply`) for unusable URLs. */
export function createRendezvous(options: RendezvousOptions, log: Logger = new Logger(nullSink)): Rendezvous {
  const broker = parseUrl("broker URL", options.brokerUrl);
  const cache = options.ampCacheUrl ? parseUrl("AMP cache URL", options.ampCacheUrl) : undefined;
  const fronts = options.fronts.map((front) => parseFront(front, broker.protocol));
  const method = cache ? "ampcache" : fronts.length > 0 ? "domain-fronting" : "https";
  const timeoutMs = options.timeoutMs ?? DEFAULT_RENDEZVOUS_TIMEOUT_MS;
  let currentFront = 0;

  const send = (
    request: Omit<RoundTripRequest, "connectHost" | "connectPort" | "serverName">,
    front: Front | undefined,
    signal: AbortSignal | undefined,
  ) =>
    roundTrip({
      ...request,
      connectHost: front?.hostname ?? request.url.hostname.replace(/^\[|\]$/g, ""),
      connectPort: front?.port ?? defaultPort(request.url),
      serverName: front?.hostname ?? request.url.hostname.replace(/^\[|\]$/g, ""),
    }, {
      bodyLimit: RENDEZVOUS_READ_LIMIT_BYTES,
      connectTimeoutMs: RENDEZVOUS_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: timeoutMs,
      caCerts: options.caCerts,
      dial: options.dial,
      signal,
    });

  /** One attempt through `front` (or direct): the broker's poll response, or a transport-level error. */
  const attempt = async (body: Uint8Array, front: Front | undefined, signal?: AbortSignal) => {
    if (cache) {
      const publisher = new URL("amp/client/" + encodeAmpPath(body), broker);
      let url: URL;
      try {
        url = ampCacheUrl(publisher, cache);
      } catch (error) {
        throw new RendezvousError("bad-reply", errorMessage(error));
      }
      const response = await send({ method: "GET", url, hostHeader: url.host }, front, signal);
      log.debug(
        `AMP cache rendezvous via ${front?.text ?? url.host}: ${response.status} ${response.statusText}`,
      );
      checkStatus(response, "AMP cache");
      if (response.headers.has("location")) {
        throw new RendezvousError("http-status", "AMP cache answered with a redirect (Location): no answer");
      }
      let armored: Uint8Array;
      try {
        armored = decodeAmpArmor(new TextDecoder().decode(response.body));
      } catch (error) {
        throw new RendezvousError("bad-reply", `AMP cache reply: ${errorMessage(error)}`);
      }
      return decodePoll(armored);
    }
    const url = new URL("client", broker);
    const response = await send({ method: "POST", url, hostHeader: url.host, body }, front, signal);
    log.debug(`HTTP rendezvous via ${front?.text ?? url.host}: ${response.status} ${response.statusText}`);
    checkStatus(response, "broker");
    return decodePoll(response.body);
  };

  return {
    method,
    async exchange(offer: string, natType: NatType, signal?: AbortSignal): Promise<string> {
      const body = encodeClientPollRequest({ offer, nat: natType, fingerprint: options.fingerprint });
      let reply: ClientPollResponse | undefined;
      if (fronts.length === 0) {
        reply = await attempt(body, undefined, signal);
      } else {
        let lastError: unknown;
        for (let tried = 0; tried < fronts.length && !reply; tried++) {
          const front = fronts[currentFront];
          try {
            reply = await attempt(body, front, signal);
          } catch (error) {
            lastError = error;
            if (signal?.aborted) throw error;
            const next = (currentFront + 1) % fronts.length;
            if (fronts.length > 1) {
              log.warn(
                `rendezvous through front ${front.text} failed (${errorMessage(error)}); next: ${
                  fronts[next].text
                }`,
              );
            }
            currentFront = next;
          }
        }
        if (!reply) throw lastError;
      }
      if (reply.error === STR_NO_PROXIES) throw new RendezvousError("no-proxies", reply.error);
      if (reply.error === STR_TIMED_OUT) throw new RendezvousError("timed-out", reply.error);
      if (reply.error) throw new RendezvousError("bad-reply", `broker error: ${reply.error}`);
      try {
        parseSessionDescription(reply.answer!, "answer");
      } catch (error) {
        throw new RendezvousError("bad-reply", `broker answer is not an SDP answer: ${errorMessage(error)}`);
      }
      return reply.answer!;
    },
  };
}

interface Front {
  text: string;
  hostname: string;
  port: number;
}

function parseUrl(what: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RendezvousError("bad-reply", `${what} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RendezvousError("bad-reply", `${what} ${JSON.stringify(text)} is not http or https`);
  }
  return url;
}

/** `host` or `host:port` (Go replaces the URL's host with the front wholesale). */
function parseFront(text: string, protocol: string): Front {
  const url = parseUrl("front", `${protocol}//${text}`);
  if (url.pathname !== "/" || url.username || url.search) {
    throw new RendezvousError("bad-reply", `front ${JSON.stringify(text)} is not a host name`);
  }
  return { text, hostname: url.hostname.replace(/^\[|\]$/g, ""), port: defaultPort(url) };
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

function checkStatus(response: Http1Response, who: string): void {
  if (response.status !== 200) {
    throw new RendezvousError(
      "http-status",
      `${who} answered ${response.status} ${response.statusText}: Unexpected error, no answer.`,
      response.status,
    );
  }
}

function decodePoll(body: Uint8Array): ClientPollResponse {
  try {
    return decodeClientPollResponse(body);
  } catch (error) {
    throw new RendezvousError("bad-reply", `broker reply: ${errorMessage(error)}`);
  }
}
