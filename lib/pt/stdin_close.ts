/**
 * `TOR_PT_EXIT_ON_STDIN_CLOSE=1` (SNOWFLAKE-PROTOCOL.md §9.1): tor keeps the
 * transport's stdin open for as long as it wants the transport to run, so EOF
 * (or a read error) on stdin means "shut down", like SIGTERM. Anything tor
 * writes there is read and discarded. {@link untilStopped} is what a
 * transport's main waits on: SIGTERM, SIGINT, or (when tor asked) stdin closing.
 */

import type { Logger } from "../util/log.ts";

/** Calls `onClose` once stdin reaches EOF or fails. `stdin` is injectable for tests. */
export async function watchStdinClose(
  onClose: () => void,
  stdin: { read(buffer: Uint8Array): Promise<number | null> } = Deno.stdin,
): Promise<void> {
  const buffer = new Uint8Array(4096);
  try {
    while ((await stdin.read(buffer)) !== null) {
      // discard
    }
  } catch {
    // a broken stdin means tor is gone just the same
  }
  onClose();
}

/**
 * Resolves with the signal's name on SIGTERM or SIGINT, or "SIGTERM" when
 * stdin closes and `exitOnStdinClose` (logged as Go's transports log it).
 * The signal listeners are removed before it resolves.
 */
export async function untilStopped(logger: Logger, exitOnStdinClose: boolean): Promise<string> {
  const stop = Promise.withResolvers<string>();
  const signals = (["SIGTERM", "SIGINT"] as const).map((name) => [name, () => stop.resolve(name)] as const);
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);
  if (exitOnStdinClose) {
    watchStdinClose(() => {
      logger.info("synthesizing SIGTERM because of stdin close");
      stop.resolve("SIGTERM");
    });
  }
  try {
    return await stop.promise;
  } finally {
    for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  }
}
