/**
 * The client's bridge-line parameters (SNOWFLAKE-PROTOCOL.md §7.2): the
 * `key=value` items of tor's `Bridge snowflake …` line, which reach us as SOCKS
 * PT arguments, applied over the options from the command line. Every
 * parameter of Tor Browser's built-in snowflake lines is recognised; the ones
 * we do not implement come back in `unsupported` with the reason, for one log
 * line each, never silently dropped:
 *
 * | key | effect |
 * |---|---|
 * | `url` | broker URL (http or https) |
 * | `front`, `fronts` | front domains (`host` or `host:port`), comma-separated, tried in turn; `fronts` wins over `front` (upstream 2.7+) |
 * | `ampcache` | AMP cache URL: AMP rendezvous |
 * | `ice` | ICE servers, comma-separated (`stun:`, `stuns:`, `turn:`, `turns:` URLs) |
 * | `max` | proxies carrying at once, 1–{@link MAX_PROXIES_LIMIT} |
 * | `padding` | ours: padding on a proxy idle this many ms (and after the ClientID), 0 = off; {@link MIN_PADDING_IDLE_MS}–{@link MAX_PADDING_IDLE_MS} |
 * | `fingerprint` | bridge fingerprint sent to the broker (40 or 64 hex digits) |
 * | `utls-imitate`, `utls-nosni` | unsupported: uTLS needs control of the TLS ClientHello, which Deno's TLS does not give |
 * | `sqsqueue`, `sqscreds` | unsupported: SQS rendezvous needs the AWS SQS API, not implemented |
 *
 * The first value of a repeated key is used (goptlib's `Args.Get`). A bad value
 * throws {@link BridgeArgsError} naming the key; the client then rejects the
 * SOCKS request, as the Go client does for a bad `max`.
 */

import { parseBridgeFingerprint } from "../messages/fingerprint.ts";
import type { PtArgs } from "../pt/args.ts";

/** The rendezvous and WebRTC settings one SOCKS connection runs with. */
export interface ClientTransportOptions {
  /** The broker's base URL (`url=`, `-url`). */
  brokerUrl: string;
  /** Front domains for domain fronting, tried in turn; empty = no fronting. */
  fronts: string[];
  /** AMP cache URL (`ampcache=`, `-ampcache`): AMP rendezvous when set. */
  ampCacheUrl?: string;
  /** ICE server URLs (`ice=`, `-ice`). */
  iceServers: string[];
  /** Proxies carrying at once (≥ 1; `max=`, `-max`). */
  max: number;
  /** Padding on a proxy idle this long, ms, and after the ClientID (`padding=`, `-padding`); 0 or absent: none. */
  paddingIdleMs?: number;
  /** Uppercase hex; the broker assumes the default bridge when absent. */
  fingerprint?: string;
}

/** A parameter we recognise but do not act on, and why. */
export interface UnsupportedBridgeArg {
  /** The bridge-line key. */
  name: string;
  /** Why it has no effect, for a log line. */
  why: string;
}

/** A bridge-line value we cannot use. */
export class BridgeArgsError extends Error {
  /** Always `"BridgeArgsError"`. */
  override name = "BridgeArgsError";
}

/** The largest `max` we accept: each proxy is a WebRTC peer and a rendezvous. */
export const MAX_PROXIES_LIMIT = 32;

/**
 * Our default `max` (Go's is 1): two proxies carry each session at once, so
 * when one dies the other carries on at once (a stall of about a second, where
 * one proxy at a time stalls for the time to notice the loss and rendezvous
 * again), while each user holds only one proxy more of the volunteer pool.
 * A third adds little: it helps only when two die within one rendezvous.
 */
export const DEFAULT_MAX_PROXIES = 2;

/** The shortest `padding=` idle period, ms (bounds the padding rate: at most ~100 chunks/s per proxy). */
export const MIN_PADDING_IDLE_MS = 10;
/** The longest `padding=` idle period, ms. */
export const MAX_PADDING_IDLE_MS = 60_000;

const UTLS_WHY =
  "uTLS ClientHello imitation needs control of the TLS handshake, which Deno's TLS does not give; " +
  "rendezvous uses Deno's own TLS fingerprint";
const SQS_WHY =
  "SQS rendezvous needs the AWS SQS API (signed requests to Amazon), which this client does not " +
  "implement; use url= (with fronts=) or ampcache=";

/** Keys we read; anything else is reported as unknown. */
const KNOWN = new Set([
  "url",
  "front",
  "fronts",
  "ampcache",
  "ice",
  "max",
  "padding",
  "fingerprint",
  "utls-imitate",
  "utls-nosni",
  "sqsqueue",
  "sqscreds",
]);

/** Applies bridge-line `args` over `base`; throws {@link BridgeArgsError} for a bad value or no broker URL. */
export function parseBridgeArgs(
  args: PtArgs,
  base: ClientTransportOptions,
): { options: ClientTransportOptions; unsupported: UnsupportedBridgeArg[] } {
  const options: ClientTransportOptions = {
    ...base,
    fronts: [...base.fronts],
    iceServers: [...base.iceServers],
  };
  const unsupported: UnsupportedBridgeArg[] = [];
  const get = (key: string) => args.first(key);

  const url = get("url");
  if (url !== undefined) options.brokerUrl = parseHttpUrl("url", url);
  const front = get("front");
  const fronts = get("fronts");
  if (fronts !== undefined && fronts.trim() !== "") options.fronts = parseFronts("fronts", fronts);
  else if (front !== undefined) options.fronts = parseFronts("front", front);
  const ampcache = get("ampcache");
  if (ampcache !== undefined) {
    options.ampCacheUrl = ampcache.trim() === "" ? undefined : parseHttpUrl("ampcache", ampcache);
  }
  const ice = get("ice");
  if (ice !== undefined) options.iceServers = parseIceServers(ice);
  const max = get("max");
  if (max !== undefined) options.max = parseMax(max);
  const padding = get("padding");
  if (padding !== undefined) options.paddingIdleMs = parsePaddingIdleMs(`padding=${padding}`, padding);
  const fingerprint = get("fingerprint");
  if (fingerprint !== undefined) {
    try {
      options.fingerprint = parseBridgeFingerprint(fingerprint);
    } catch {
      throw new BridgeArgsError(`fingerprint=${fingerprint}: not 40 or 64 hex digits`);
    }
  }

  for (const name of ["utls-imitate", "utls-nosni"]) {
    const value = get(name);
    if (value !== undefined) unsupported.push({ name, why: `${name}=${value} ignored: ${UTLS_WHY}` });
  }
  for (const name of ["sqsqueue", "sqscreds"]) {
    if (get(name) !== undefined) unsupported.push({ name, why: SQS_WHY });
  }
  for (const name of args.keys()) {
    if (!KNOWN.has(name)) unsupported.push({ name, why: "unknown bridge-line parameter, ignored" });
  }

  if (options.brokerUrl === "") {
    throw new BridgeArgsError(
      get("sqsqueue") !== undefined
        ? "no broker URL: the bridge line offers only SQS rendezvous, which is not supported; add url="
        : "no broker URL: give url= in the bridge line or -url",
    );
  }
  if (options.iceServers.length === 0) {
    throw new BridgeArgsError("no ICE servers: give ice= in the bridge line or -ice");
  }
  return { options, unsupported };
}

function parseHttpUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new BridgeArgsError(`${key}=${value}: not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new BridgeArgsError(`${key}=${value}: not an http or https URL`);
  }
  return url.href;
}

/** A front is a host name (or IP literal), with an optional port, that TCP, TLS and SNI use. */
function parseFronts(key: string, value: string): string[] {
  const fronts = value.split(",").map((front) => front.trim()).filter((front) => front !== "");
  for (const front of fronts) {
    if (
      !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(front) || front.startsWith(".") ||
      front.length > 253
    ) {
      throw new BridgeArgsError(`${key}=${value}: ${JSON.stringify(front)} is not a domain name`);
    }
  }
  return fronts;
}

function parseIceServers(value: string): string[] {
  const servers = value.trim().split(",").map((server) => server.trim()).filter((server) => server !== "");
  if (servers.length === 0) throw new BridgeArgsError(`ice=${value}: no ICE servers`);
  for (const server of servers) {
    if (!/^(stuns?|turns?):[^\s/]+$/i.test(server)) {
      throw new BridgeArgsError(`ice=${value}: ${JSON.stringify(server)} is not a stun: or turn: URL`);
    }
  }
  return servers;
}

function parseMax(value: string): number {
  if (!/^\+?\d+$/.test(value.trim())) throw new BridgeArgsError(`max=${value}: not a whole number`);
  const max = Number(value.trim());
  if (max < 1) throw new BridgeArgsError(`max=${value}: must be at least 1`);
  if (max > MAX_PROXIES_LIMIT) {
    throw new BridgeArgsError(`max=${value}: at most ${MAX_PROXIES_LIMIT} proxies`);
  }
  return max;
}

/** A padding idle period in ms: 0 (or "off") for none, else MIN_PADDING_IDLE_MS–MAX_PADDING_IDLE_MS. */
export function parsePaddingIdleMs(what: string, value: string): number {
  const text = value.trim();
  if (text === "off" || text === "0") return 0;
  if (!/^\+?\d+$/.test(text)) throw new BridgeArgsError(`${what}: not a whole number of ms (or 0/off)`);
  const ms = Number(text);
  if (ms < MIN_PADDING_IDLE_MS || ms > MAX_PADDING_IDLE_MS) {
    throw new BridgeArgsError(
      `${what}: must be 0 (off) or ${MIN_PADDING_IDLE_MS}–${MAX_PADDING_IDLE_MS} ms`,
    );
  }
  return ms;
}
