/** scripts/bench/cpu_profile.ts: perf's report sorted into kinds, and a live profile of a busy process. */

import assert from "node:assert/strict";
import { parseReport, perfAvailable, profileWhile } from "../../scripts/bench/cpu_profile.ts";

const REPORT = `# Total Lost Samples: 0
#
# Samples: 2K of event 'cpu-clock:ppp'
# Event count (approx.): 5010020000
#
# Overhead  Shared Object           Symbol
# ........  ......................  ..............................
#
    30.00%  [kernel.kallsyms]       [k] copy_user_enhanced_fast_string
    20.00%  libsnowflake_webrtc.so  [.] github.com/pion/sctp.(*Association).handleChunk
    10.00%  snowflake-proxy         [.] 0x000000000000de19
     8.00%  libsnowflake_webrtc.so  [.] crypto/aes.gcmAesDec
     7.00%  libsnowflake_webrtc.so  [.] runtime.mallocgc
     6.00%  deno                    [.] v8::internal::Heap::Scavenge
     5.00%  [JIT] tid 1234          [.] 0x00007f0000001234
     4.00%  libc.so.6               [.] __memmove_avx_unaligned_erms
`;

Deno.test("cpu profile: perf's dso,sym report sorted into kinds", () => {
  const profile = parseReport(REPORT);
  assert.equal(profile.samples, 2000);
  assert.deepEqual(profile.shares, { kernel: 30, go: 45, "deno, v8, js": 11, other: 4 });
  assert.equal(profile.top[0], "30.0 % copy_user_enhanced_fast_string ([kernel.kallsyms])");
});

Deno.test({
  name: "cpu profile: a busy process sampled by perf adds up to its whole CPU",
  ignore: !await perfAvailable(),
  fn: async () => {
    const busy = new Deno.Command("sh", { args: ["-c", "while :; do :; done"], stdout: "null" }).spawn();
    try {
      const profile = await profileWhile(busy.pid, () => new Promise((resolve) => setTimeout(resolve, 1000)));
      assert.ok(profile.samples > 100, `${profile.samples} samples`);
      const total = Object.values(profile.shares).reduce((a, b) => a + b, 0);
      assert.ok(total > 95 && total < 100.5, `shares add up to ${total}`);
      assert.ok(profile.shares.other + profile.shares.kernel > 95, JSON.stringify(profile.shares));
    } finally {
      busy.kill("SIGKILL");
      await busy.status;
    }
  },
});
