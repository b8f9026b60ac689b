/**
 * WebRTC data channel throughput between two processes on loopback: our
 * binding (TS↔TS, tests/webrtc/peer_program.ts) against pion used directly
 * from Go (Go↔Go, build/ffi/webrtc-go-peer) in the same run. One ordered
 * reliable channel, 1200-byte messages (about one encapsulated KCP packet),
 * one direction, bufferedAmount back-pressure (1 MiB high, 256 KiB low) on
 * both. MB/s from channel open to the last byte received; CPU s/MB is both
 * processes' CPU over that window. Target: ours ≥ 0.9× Go's MB/s.
 * Needs `deno task build:ffi`.
 *
 * MB/s swings 2-3× between identical runs, for Go and for us alike: bursts
 * overflow the receiver's UDP socket buffer on loopback and the run's speed
 * depends on how pion's SCTP recovers. Runs are many and interleaved, and
 * CPU s/MB is the steadier figure.
 */

import { type PeerKind, runPeerPair } from "../../tests/webrtc/peer_pair.ts";
import { type Bench, type BenchRow, median } from "./row.ts";

const MESSAGE_SIZE = 1200;

interface Sample {
  mbPerSecond: number;
  cpuPerMb: number;
}

async function sample(kind: PeerKind, bytes: number): Promise<Sample> {
  const { offer, answer } = await runPeerPair({
    offer: kind,
    answer: kind,
    offerSends: bytes,
    answerSends: 0,
    size: MESSAGE_SIZE,
    timeoutMs: 300_000,
  });
  if (answer.received !== bytes || answer.receivedSha256 !== offer.sentSha256) {
    throw new Error(`${kind}↔${kind}: received ${answer.received} of ${bytes} bytes or a different sha256`);
  }
  const mb = bytes / 1e6;
  return {
    mbPerSecond: mb / Math.max(offer.seconds, answer.seconds),
    cpuPerMb: (offer.cpuSeconds + answer.cpuSeconds) / mb,
  };
}

export const bench: Bench = async ({ quick }) => {
  const runs = quick ? 1 : 9;
  const bytes = quick ? 5_000_000 : 20_000_000;
  const ours: Sample[] = [];
  const go: Sample[] = [];
  // Interleaved, so that both see the same load on this shared machine.
  for (let run = 0; run < runs; run++) {
    go.push(await sample("go", bytes));
    ours.push(await sample("ts", bytes));
  }
  const note = `${runs} runs × ${
    bytes / 1e6
  } MB, ${MESSAGE_SIZE}-byte messages; reference: Go↔Go on the same pion`;
  const rows: BenchRow[] = [
    {
      case: "data channel TS↔TS vs Go↔Go, 2 processes",
      unit: "MB/s",
      ours: median(ours.map((s) => s.mbPerSecond)),
      best: Math.max(...ours.map((s) => s.mbPerSecond)),
      reference: median(go.map((s) => s.mbPerSecond)),
      note: `${note}; target ≥ 0.9× Go`,
    },
    {
      case: "data channel TS↔TS vs Go↔Go, 2 processes",
      unit: "CPU s/MB",
      ours: median(ours.map((s) => s.cpuPerMb)),
      best: Math.min(...ours.map((s) => s.cpuPerMb)),
      reference: median(go.map((s) => s.cpuPerMb)),
      note: `${note}; both processes`,
    },
  ];
  return rows;
};
