/**
 * What both sides of a managed transport read from tor's environment
 * (SNOWFLAKE-PROTOCOL.md §9.1): the protocol version, the state directory and
 * `TOR_PT_EXIT_ON_STDIN_CLOSE`. Errors are {@link PtEnvError}s whose keyword
 * and message are the line goptlib prints (`ENV-ERROR no X environment variable`).
 * The environment is passed in (a record or `Deno.env.toObject()`), so parsing
 * is testable without touching the process.
 */

import type { PtMessages } from "./messages.ts";

/** The environment variables as tor sets them. */
export type PtEnv = Record<string, string | undefined>;

/** The managed-proxy protocol version we speak. */
export const PT_VERSION = "1";

/** A bad environment: `keyword` (`ENV-ERROR` or `VERSION-ERROR`) and the message tor gets. */
export class PtEnvError extends Error {
  override name = "PtEnvError";
  constructor(readonly keyword: "ENV-ERROR" | "VERSION-ERROR", message: string) {
    super(message);
  }

  /** Writes this error as its PT line. */
  report(pt: PtMessages): void {
    if (this.keyword === "VERSION-ERROR") pt.versionError(this.message);
    else pt.envError(this.message);
  }
}

/** A variable that must be set and non-empty. */
export function requiredEnv(env: PtEnv, name: string): string {
  const value = env[name];
  if (!value) throw new PtEnvError("ENV-ERROR", `no ${name} environment variable`);
  return value;
}

/** Checks `TOR_PT_MANAGED_TRANSPORT_VER` offers version 1 and returns it. */
export function managedTransportVersion(env: PtEnv): string {
  const offered = requiredEnv(env, "TOR_PT_MANAGED_TRANSPORT_VER");
  if (!offered.split(",").includes(PT_VERSION)) throw new PtEnvError("VERSION-ERROR", "no-version");
  return PT_VERSION;
}

/** `TOR_PT_EXIT_ON_STDIN_CLOSE=1`: treat EOF on stdin like SIGTERM. */
export function exitOnStdinClose(env: PtEnv): boolean {
  return env.TOR_PT_EXIT_ON_STDIN_CLOSE === "1";
}

/** goptlib's `MakeStateDir`: `TOR_PT_STATE_LOCATION`, created with mode 0700. */
export function makeStateDir(env: PtEnv): string {
  const dir = requiredEnv(env, "TOR_PT_STATE_LOCATION");
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * goptlib's `ClientSetup`/`ServerSetup` order: check the version and write
 * `VERSION 1`, then `parse` the rest. A bad environment writes its
 * `ENV-ERROR`/`VERSION-ERROR` line and rethrows the {@link PtEnvError}.
 */
export function managedSetup<T>(env: PtEnv, pt: PtMessages, parse: (env: PtEnv) => T): T {
  try {
    pt.version(managedTransportVersion(env));
    return parse(env);
  } catch (error) {
    if (error instanceof PtEnvError) error.report(pt);
    throw error;
  }
}
