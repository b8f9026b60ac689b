/**
 * The server side of tor's managed-proxy environment (SNOWFLAKE-PROTOCOL.md
 * §9.1, §9.4): bind addresses with their transport options, the ORPort, the
 * Extended ORPort and its auth cookie, as goptlib's `ServerSetup` reads them.
 * {@link serverSetup} also writes `VERSION 1` or the error line, in goptlib's order.
 */

import { AddrError, resolveAddr, type TcpAddr } from "../net/addr.ts";
import { parseServerTransportOptions, PtArgs, PtArgsError } from "./args.ts";
import { exitOnStdinClose, managedSetup, type PtEnv, PtEnvError, requiredEnv } from "./env.ts";
import type { PtMessages } from "./messages.ts";

/** One `TOR_PT_SERVER_BINDADDR` entry: where to listen for `methodName`, and its options. */
export interface ServerBindaddr {
  methodName: string;
  addr: TcpAddr;
  options: PtArgs;
}

/** Everything goptlib's `ServerInfo` holds, plus the environment facts a server acts on. */
export interface ServerPtInfo {
  /** Bind addresses whose method is in `TOR_PT_SERVER_TRANSPORTS`, in the order given. */
  bindaddrs: ServerBindaddr[];
  orAddr?: TcpAddr;
  extendedOrAddr?: TcpAddr;
  authCookiePath?: string;
  /** `TOR_PT_STATE_LOCATION`, if set (created only when needed). */
  stateLocation?: string;
  exitOnStdinClose: boolean;
}

const addrMessage = (error: unknown) => error instanceof AddrError ? error.message : String(error);

/** Parses the server variables; throws {@link PtEnvError}. Does not check the version. */
export function parseServerEnv(env: PtEnv): ServerPtInfo {
  const rawOptions = env.TOR_PT_SERVER_TRANSPORT_OPTIONS ?? "";
  let options: Map<string, PtArgs>;
  try {
    options = parseServerTransportOptions(rawOptions);
  } catch (error) {
    if (!(error instanceof PtArgsError)) throw error;
    throw new PtEnvError(
      "ENV-ERROR",
      `TOR_PT_SERVER_TRANSPORT_OPTIONS: ${JSON.stringify(rawOptions)}: ${error.message}`,
    );
  }

  const bindaddrs: ServerBindaddr[] = [];
  const seen = new Set<string>();
  for (const spec of requiredEnv(env, "TOR_PT_SERVER_BINDADDR").split(",")) {
    const dash = spec.indexOf("-");
    if (dash < 0) {
      throw new PtEnvError(
        "ENV-ERROR",
        `TOR_PT_SERVER_BINDADDR: ${JSON.stringify(spec)}: doesn't contain "-"`,
      );
    }
    const methodName = spec.slice(0, dash);
    if (seen.has(methodName)) {
      throw new PtEnvError(
        "ENV-ERROR",
        `TOR_PT_SERVER_BINDADDR: ${JSON.stringify(spec)}: duplicate method name ${
          JSON.stringify(methodName)
        }`,
      );
    }
    seen.add(methodName);
    let addr: TcpAddr;
    try {
      addr = resolveAddr(spec.slice(dash + 1));
    } catch (error) {
      throw new PtEnvError(
        "ENV-ERROR",
        `TOR_PT_SERVER_BINDADDR: ${JSON.stringify(spec)}: ${addrMessage(error)}`,
      );
    }
    bindaddrs.push({ methodName, addr, options: options.get(methodName) ?? new PtArgs() });
  }
  const transports = requiredEnv(env, "TOR_PT_SERVER_TRANSPORTS").split(",");

  const info: ServerPtInfo = {
    bindaddrs: bindaddrs.filter((b) => transports.includes(b.methodName)),
    exitOnStdinClose: exitOnStdinClose(env),
    stateLocation: env.TOR_PT_STATE_LOCATION || undefined,
  };
  const orPort = env.TOR_PT_ORPORT;
  if (orPort) {
    try {
      info.orAddr = resolveAddr(orPort);
    } catch (error) {
      throw new PtEnvError(
        "ENV-ERROR",
        `cannot resolve TOR_PT_ORPORT ${JSON.stringify(orPort)}: ${addrMessage(error)}`,
      );
    }
  }
  info.authCookiePath = env.TOR_PT_AUTH_COOKIE_FILE || undefined;
  const extendedOrPort = env.TOR_PT_EXTENDED_SERVER_PORT;
  if (extendedOrPort) {
    if (!info.authCookiePath) {
      throw new PtEnvError(
        "ENV-ERROR",
        "need TOR_PT_AUTH_COOKIE_FILE environment variable with TOR_PT_EXTENDED_SERVER_PORT",
      );
    }
    try {
      info.extendedOrAddr = resolveAddr(extendedOrPort);
    } catch (error) {
      throw new PtEnvError(
        "ENV-ERROR",
        `cannot resolve TOR_PT_EXTENDED_SERVER_PORT ${JSON.stringify(extendedOrPort)}: ${addrMessage(error)}`,
      );
    }
  }
  if (!info.orAddr && !info.extendedOrAddr) {
    throw new PtEnvError(
      "ENV-ERROR",
      "need TOR_PT_ORPORT or TOR_PT_EXTENDED_SERVER_PORT environment variable",
    );
  }
  return info;
}

/**
 * goptlib's `ServerSetup`: checks the version and writes `VERSION 1`, then
 * parses the rest. On a bad environment writes the `ENV-ERROR`/`VERSION-ERROR`
 * line and rethrows the {@link PtEnvError}.
 */
export function serverSetup(env: PtEnv, pt: PtMessages): ServerPtInfo {
  return managedSetup(env, pt, parseServerEnv);
}
