/**
 * Test helper: subprocesses inside a test's network namespace
 * (tests/util/netns.ts), as `ip netns exec NAME cmd ...`: tests/support/process.ts
 * with the namespace given. `ip netns exec` execs the command, so `child.pid`
 * is the command's own pid. Stdin is piped (and closed first on stop) when an
 * environment is given: that is a managed PT, which exits on it.
 */

import { type Proc, spawnProcess } from "../support/process.ts";

export type { Proc };

export function spawnIn(netns: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  return spawnProcess(cmd, args, { netns, env, stdin: Object.keys(env).length > 0 });
}
