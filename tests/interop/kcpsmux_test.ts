/**
 * Conformance of our KCP+smux against the real libraries: the Go peer
 * (tests/interop/kcpsmux/peer.go: Debian's kcp-go v5 and smux v2, set up as
 * Snowflake sets them) and our stack move 10 MiB each way at once over one
 * smux stream on loopback UDP, with our side as client and as server, without
 * and with injected loss. Each side checks the other's sha256 in-band; the test
 * also checks both reports against each other, the stream id, the conv, and
 * that the client's FIN reached the server.
 */

import assert from "node:assert/strict";
import { listenUdp } from "../support/udp/udp.ts";
import type { PacketConn } from "../../lib/net/packet_conn.ts";
import { acceptEndpoint, dialEndpoint, type Endpoint } from "./kcpsmux/endpoint.ts";
import { PeerProcess, type PeerReport } from "./kcpsmux/peer_process.ts";
import { LossyPacketConn } from "./kcpsmux/lossy_packet_conn.ts";
import { clientTransfer, randomData, serverTransfer, type TransferReport } from "./kcpsmux/transfer.ts";

const SIZE = 10 * 1024 * 1024; // each way
const LINGER_MS = 1000; // the client keeps its KCP session this long after its FIN
const FIN_WAIT_MS = 10_000;
const CASE_TIMEOUT_MS = 90_000; // the Go peer gives up at 60 s; we close everything at 90 s

interface Case {
  ours: "client" | "server";
  /** Drop probability per packet on each side, on sending and on receiving. */
  loss: number;
}

const CASES: Case[] = [
  { ours: "client", loss: 0 },
  { ours: "server", loss: 0 },
  { ours: "client", loss: 0.01 },
  { ours: "server", loss: 0.01 },
];

for (const { ours, loss } of CASES) {
  const lossNote = loss ? `${loss * 100} % loss injected on each side` : "no injected loss";
  Deno.test(`KCP+smux vs kcp-go/smux over UDP: ours as ${ours}, ${lossNote}, 10 MiB each way`, async () => {
    const data = randomData(SIZE);
    const udp = await listenUdp();
    const conn: PacketConn = loss ? new LossyPacketConn(udp, loss, 7) : udp;
    let go: PeerProcess | undefined;
    let endpoint: Endpoint | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const run = async (): Promise<[TransferReport, PeerReport]> => {
        if (ours === "client") {
          go = await PeerProcess.start({ kind: "go", mode: "server", send: SIZE, loss, seed: 11 });
          endpoint = await dialEndpoint(conn, go.listenAddr);
          const report = await clientTransfer(endpoint.stream, data, SIZE, LINGER_MS);
          return [report, (await go.finish()).report];
        }
        go = await PeerProcess.start({
          kind: "go",
          mode: "client",
          addr: udp.localAddr,
          send: SIZE,
          loss,
          seed: 12,
        });
        endpoint = await acceptEndpoint(conn);
        const report = await serverTransfer(endpoint.stream, data, SIZE, FIN_WAIT_MS);
        return [report, (await go.finish()).report];
      };
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
      });
      const [mine, theirs] = await Promise.race([run(), timeout]);

      assert.equal(mine.received, SIZE, "we read all of Go's data");
      assert.equal(theirs.received, SIZE, "Go read all of ours");
      assert.equal(mine.receivedSha256, theirs.sentSha256, "what we read is what Go sent");
      assert.equal(theirs.receivedSha256, mine.sentSha256, "what Go read is what we sent");
      assert.ok(mine.peerDigestOk && theirs.peerDigestOk, "both in-band digests match");
      assert.equal(theirs.conv, endpoint!.kcp.conv, "one KCP conversation");
      assert.equal(endpoint!.stream.id, 3, "the client's first smux stream is 3");
      assert.equal(theirs.streamId, 3);
      assert.ok(
        ours === "server" ? mine.finReceived : theirs.finReceived,
        "the client's FIN reached the server",
      );
      if (loss) {
        assert.ok(
          (conn as LossyPacketConn).dropped > 0 && theirs.dropped > 0,
          "loss was injected on both sides",
        );
      }
    } finally {
      clearTimeout(timer);
      endpoint?.close();
      udp.close();
      await udp.closed;
      await go?.close();
    }
  });
}
