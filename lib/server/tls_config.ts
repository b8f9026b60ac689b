/**
 * How the WebSocket listener gets TLS, and the `SMETHOD … ARGS:` that follow
 * (SNOWFLAKE-PROTOCOL.md §8.1–8.2). Go Snowflake gets certificates from Let's
 * Encrypt (ACME), which needs the internet; we take a certificate and key from
 * files (`-cert`, `-key`) instead, and refuse the ACME flags with an
 * explanation. `-disable-tls` gives plain `ws://` (behind a TLS-terminating
 * front end, or for tests). ARGS: `tls=no`, or `hostname=<h>…,tls=yes`.
 */

import { errorMessage } from "../util/errors.ts";
import { PtArgs } from "../pt/args.ts";

export interface TlsFlags {
  disableTls: boolean;
  certFile?: string;
  keyFile?: string;
  /** `-acme-hostnames`, comma-separated: reported as `hostname=` ARGS with a certificate from files. */
  acmeHostnames?: string;
  acmeEmail?: string;
  acmeCertCache?: string;
}

export interface TlsSetup {
  tls?: { cert: string; key: string };
  args: PtArgs;
}

export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

export const ACME_UNSUPPORTED =
  "ACME (automatic Let's Encrypt certificates) is not supported: it needs to reach " +
  "Let's Encrypt over the internet. Obtain a certificate another way and pass it with -cert FILE -key FILE " +
  "(PEM), or use -disable-tls behind a TLS-terminating proxy";

/** Checks the flags and reads the certificate files; throws {@link TlsConfigError} with what to do. */
export function resolveTls(
  flags: TlsFlags,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): TlsSetup {
  const args = new PtArgs();
  if (flags.disableTls) {
    if (flags.certFile || flags.keyFile) {
      throw new TlsConfigError("-cert/-key cannot be used with -disable-tls");
    }
    return { args: args.add("tls", "no") };
  }
  if (!flags.certFile && !flags.keyFile) {
    if (flags.acmeHostnames || flags.acmeEmail || flags.acmeCertCache) {
      throw new TlsConfigError(ACME_UNSUPPORTED);
    }
    throw new TlsConfigError(
      "TLS needs a certificate: pass -cert FILE -key FILE (PEM), or -disable-tls (ACME is not supported)",
    );
  }
  if (!flags.certFile || !flags.keyFile) throw new TlsConfigError("-cert and -key must be given together");
  if (flags.acmeEmail || flags.acmeCertCache) throw new TlsConfigError(ACME_UNSUPPORTED);
  const read = (path: string, what: string) => {
    try {
      return readTextFile(path);
    } catch (error) {
      throw new TlsConfigError(
        `reading the TLS ${what} ${JSON.stringify(path)}: ${errorMessage(error)}`,
      );
    }
  };
  const tls = { cert: read(flags.certFile, "certificate"), key: read(flags.keyFile, "key") };
  for (const hostname of (flags.acmeHostnames ?? "").split(",")) if (hostname) args.add("hostname", hostname);
  return { tls, args: args.add("tls", "yes") };
}
