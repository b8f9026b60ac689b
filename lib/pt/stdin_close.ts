/**
 * `TOR_PT_EXIT_ON_STDIN_CLOSE=1` (SNOWFLAKE-PROTOCOL.md §9.1): tor keeps the
 * transport's stdin open for as long as it wants the transport to run, so EOF
 * (or a read error) on stdin means "shut down", like SIGTERM. Anything tor
 * writes there is read and discarded.
 */

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
