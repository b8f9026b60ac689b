/**
 * Test helper: subprocesses inside a test's network namespace
 * (tests/util/netns.ts), as `ip netns exec NAME cmd ...`: tests/support/process.ts
 * with the namespace given. `ip netns exec` execs the command, so `child.pid`
 * is the command's own pid. Stdin is always piped, as tor does for a PT, and
 * closed first on stop: a managed PT (TOR_PT_EXIT_ON_STDIN_CLOSE) exits on it,
 * and so does a helper that serves until stdin closes (the test STUN server's
 * `--until-stdin-closes`), which then also dies with a test that crashes.
 */

import { type Proc, spawnProcess } from "../support/process.ts";

export type { Proc };

export function spawnIn(netns: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  return spawnProcess(cmd, args, { netns, env, stdin: true });
}
