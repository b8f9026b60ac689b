/**
 * The client side of tor's managed-proxy environment (SNOWFLAKE-PROTOCOL.md
 * §9.1): the requested method names and the optional upstream proxy, as
 * goptlib's `ClientSetup` reads them. {@link clientSetup} writes `VERSION 1` or
 * the error line, in goptlib's order.
 */

import { errorMessage } from "../util/errors.ts";
import { exitOnStdinClose, managedSetup, type PtEnv, requiredEnv } from "./env.ts";
import type { PtMessages } from "./messages.ts";

export interface ClientPtInfo {
  /** `TOR_PT_CLIENT_TRANSPORTS`, split on commas. */
  methodNames: string[];
  /** `TOR_PT_PROXY`, checked for scheme, host and port (a transport that cannot use it answers `PROXY-ERROR`). */
  proxyUrl?: URL;
  /** `TOR_PT_STATE_LOCATION`, if set (created only when needed). */
  stateLocation?: string;
  exitOnStdinClose: boolean;
}

/** A `TOR_PT_PROXY` that goptlib would refuse (it returns an error without printing a line). */
export class PtProxyUrlError extends Error {
  override name = "PtProxyUrlError";
}

/** goptlib's `getProxyURL` checks: a scheme, and an authority with a host and a port. */
export function parseProxyUrl(raw: string): URL {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(raw);
  if (!match) {
    throw new PtProxyUrlError(/^[A-Za-z][A-Za-z0-9+.-]*:/.test(raw) ? "missing authority" : "missing scheme");
  }
  const authority = match[2].slice(match[2].lastIndexOf("@") + 1);
  if (authority === "") throw new PtProxyUrlError("missing authority");
  const port = /:(\d*)$/.exec(authority);
  if (!port) throw new PtProxyUrlError(`address ${authority}: missing port in address`);
  if (port.index === 0 || authority.slice(0, port.index) === "[]") throw new PtProxyUrlError("missing host");
  if (port[1] === "") throw new PtProxyUrlError("missing port");
  try {
    return new URL(raw);
  } catch (error) {
    throw new PtProxyUrlError(errorMessage(error));
  }
}

/** Parses the client variables; throws {@link PtEnvError} or {@link PtProxyUrlError}. Does not check the version. */
export function parseClientEnv(env: PtEnv): ClientPtInfo {
  const info: ClientPtInfo = {
    methodNames: requiredEnv(env, "TOR_PT_CLIENT_TRANSPORTS").split(","),
    exitOnStdinClose: exitOnStdinClose(env),
    stateLocation: env.TOR_PT_STATE_LOCATION || undefined,
  };
  if (env.TOR_PT_PROXY) info.proxyUrl = parseProxyUrl(env.TOR_PT_PROXY);
  return info;
}

/**
 * goptlib's `ClientSetup`: checks the version and writes `VERSION 1`, then
 * parses the rest. A bad environment writes its error line and rethrows; a bad
 * `TOR_PT_PROXY` throws {@link PtProxyUrlError} without a line, as goptlib does.
 */
export function clientSetup(env: PtEnv, pt: PtMessages): ClientPtInfo {
  return managedSetup(env, pt, parseClientEnv);
}
