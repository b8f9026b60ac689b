/**
 * Our binding against pion used directly from Go, in separate processes:
 * tests/webrtc/peer_program.ts (a Deno process over the binding) and
 * build/ffi/webrtc-go-peer, each side offering once, 5 MB each way at once,
 * sha256-checked. Needs `deno task build:ffi` (scripts/test.sh runs it).
 */

import assert from "node:assert/strict";
import { type PeerKind, runPeerPair } from "./peer_pair.ts";

const TOTAL = 5_000_000;

for (const [offer, answer] of [["ts", "go"], ["go", "ts"]] as [PeerKind, PeerKind][]) {
  Deno.test(`webrtc: ${offer} offerer ↔ ${answer} answerer in separate processes, 5 MB each way`, async () => {
    const results = await runPeerPair({
      offer,
      answer,
      offerSends: TOTAL,
      answerSends: TOTAL,
      size: 1200,
      timeoutMs: 120_000,
    });
    assert.equal(results.answer.received, TOTAL);
    assert.equal(results.answer.receivedSha256, results.offer.sentSha256);
    assert.equal(results.offer.received, TOTAL);
    assert.equal(results.offer.receivedSha256, results.answer.sentSha256);
  });
}
