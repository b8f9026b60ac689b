/**
 * The bulk-transfer protocol of the KCP+smux conformance tests and the core
 * bench, on one smux stream; the TypeScript twin of the Go peer's `transfer`
 * (tests/interop/kcpsmux/peer.go, whose package doc describes it):
 *
 * each side writes its data while it reads the peer's `recv` bytes; once it has
 * read them it writes the sha256 of what it read (32 bytes) and reads the
 * peer's 32-byte digest of what the peer read. Then the client closes the
 * stream (FIN) and lingers so the FIN gets through; the server waits for that
 * FIN (EOF), then closes its own stream.
 */

import { createHash } from "node:crypto";
import type { ByteConn } from "../../../lib/net/byte_conn.ts";
import { bytesEqual, toHex } from "../../../lib/util/bytes.ts";

export const DIGEST_SIZE = 32; // sha256
/** Bytes per stream write in benches (verify off), as the Go peer. */
const CHUNK_SIZE = 64 * 1024;
/**
 * Write sizes cycled through when verifying: around KCP's mss (1376) and smux's
 * frame size (32768), and a write of one byte. peer.go uses the same list.
 */
const MIXED_WRITE_SIZES = [1, 7, 100, 1375, 1376, 1377, 4096, 32767, 32768, 32769, 65536, 100000];

/** One side's account of a transfer; the same fields as the Go peer's JSON report. */
export interface TransferReport {
  sent: number;
  sentSha256: string;
  received: number;
  receivedSha256: string;
  /** The peer's digest of what it read equals the digest of what we sent. */
  peerDigestOk: boolean;
  /** Server side: the client's FIN arrived (read() returned null) after the digest. */
  finReceived: boolean;
  /** From the start until the peer's digest arrived. */
  seconds: number;
}

export { cryptoRandomBytes as randomData } from "../../support/random.ts";

/** What the protocol hashes with: sha256, or (verify off) nothing, summing to zeros. */
interface Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/**
 * sha256, or with `verify` false a hasher that reads nothing and sums to zeros
 * (for benches: hashing would be a large share of the CPU measured, and Go
 * 1.19's sha256, without SHA-NI, is 4× slower than ours).
 */
function newHasher(verify: boolean): Hasher {
  if (!verify) return { update() {}, digest: () => new Uint8Array(DIGEST_SIZE) };
  const hash = createHash("sha256");
  return { update: (data) => hash.update(data), digest: () => hash.digest() };
}

/** Runs the protocol on `stream`: sends `data`, expects `recv` bytes. */
export async function transfer(
  stream: ByteConn,
  data: Uint8Array,
  recv: number,
  verify = true,
): Promise<TransferReport> {
  const start = performance.now();
  const sentHash = newHasher(verify);
  sentHash.update(data);
  const sentDigest = sentHash.digest();
  let resolveReceived!: (digest: Uint8Array | null) => void;
  const receivedDigest = new Promise<Uint8Array | null>((resolve) => resolveReceived = resolve);
  const writer = (async () => {
    for (let off = 0, i = 0; off < data.length; i++) {
      const size = verify ? MIXED_WRITE_SIZES[i % MIXED_WRITE_SIZES.length] : CHUNK_SIZE;
      await stream.write(data.subarray(off, off + size));
      off += size;
    }
    const digest = await receivedDigest;
    if (digest) await stream.write(digest);
  })();
  writer.catch(() => {}); // awaited below; this keeps a failed write from counting as unhandled meanwhile
  try {
    const hash = newHasher(verify);
    let ownDigest: Uint8Array | null = null;
    const finishReading = () => {
      ownDigest = hash.digest();
      resolveReceived(ownDigest);
    };
    if (recv === 0) finishReading();
    let received = 0;
    const peerDigest = new Uint8Array(DIGEST_SIZE);
    let digestBytes = 0;
    while (digestBytes < DIGEST_SIZE) {
      const chunk = await stream.read();
      if (chunk === null) {
        throw new Error(`stream ended after ${received} of ${recv} bytes and ${digestBytes} digest bytes`);
      }
      let rest = chunk;
      if (received < recv) {
        const take = Math.min(recv - received, rest.length);
        hash.update(rest.subarray(0, take));
        received += take;
        rest = rest.subarray(take);
        if (received === recv) finishReading();
      }
      if (rest.length > DIGEST_SIZE - digestBytes) {
        throw new Error("the peer sent more than its data and digest");
      }
      peerDigest.set(rest, digestBytes);
      digestBytes += rest.length;
    }
    await writer;
    return {
      sent: data.length,
      sentSha256: toHex(sentDigest),
      received,
      receivedSha256: toHex(ownDigest!),
      peerDigestOk: bytesEqual(peerDigest, sentDigest),
      finReceived: false,
      seconds: (performance.now() - start) / 1000,
    };
  } catch (error) {
    resolveReceived(null);
    await writer.catch(() => {}); // the read's failure is the one to report
    throw error;
  }
}

/** The client's side: transfer, close the stream (FIN), linger `lingerMs` so the FIN gets through. */
export async function clientTransfer(
  stream: ByteConn,
  data: Uint8Array,
  recv: number,
  lingerMs: number,
  verify = true,
): Promise<TransferReport> {
  const report = await transfer(stream, data, recv, verify);
  stream.close();
  await sleep(lingerMs);
  return report;
}

/** The server's side: transfer, wait up to `finWaitMs` for the client's FIN, close the stream. */
export async function serverTransfer(
  stream: ByteConn,
  data: Uint8Array,
  recv: number,
  finWaitMs: number,
  verify = true,
): Promise<TransferReport> {
  const report = await transfer(stream, data, recv, verify);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), finWaitMs)
  );
  const next = await Promise.race([stream.read(), timeout]);
  clearTimeout(timer);
  report.finReceived = next === null;
  stream.close();
  return report;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
