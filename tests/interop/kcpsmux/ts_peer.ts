/**
 * Our KCP+smux as a standalone peer process: the twin of the Go peer
 * (tests/interop/kcpsmux/peer.go) with the same flags, output and transfer, so
 * the core bench can run TS↔TS, TS↔Go and Go↔Go over loopback UDP the same
 * way, one process per side.
 *
 *   deno run -A tests/interop/kcpsmux/ts_peer.ts -mode server|client|memory [-addr A] [-send N] [-recv N] [-loss P] ...
 *
 * Output: "listening HOST:PORT" (server) or "ready" (client, memory) once the
 * data is ready, then one JSON report line; then it waits for stdin to close.
 */

import { memoryPacketPair } from "../../support/memory.ts";
import type { PacketConn } from "../../../lib/net/packet_conn.ts";
import { listenUdp, parseUdpAddr } from "../../support/udp/udp.ts";
import { FlagError, HelpRequested, parseFlags, usage } from "../../../lib/util/flags.ts";
import { acceptEndpoint, dialEndpoint } from "./endpoint.ts";
import { LossyPacketConn } from "./lossy_packet_conn.ts";
import { clientTransfer, randomData, serverTransfer, sleep, type TransferReport } from "./transfer.ts";

const FLAGS = {
  mode: { type: "string", help: "client, server or memory" },
  addr: {
    type: "string",
    default: "127.0.0.1:0",
    help: "server: UDP address to listen on; client: server's",
  },
  send: { type: "int", default: 10 << 20, help: "bytes to send" },
  recv: { type: "int", default: -1, help: "bytes to expect from the peer (default: same as -send)" },
  loss: { type: "float", default: 0, help: "probability of dropping each packet, both directions" },
  seed: { type: "int", default: 1, help: "seed of the dropper" },
  linger: {
    type: "duration",
    default: 1000,
    help: "how long to keep the KCP session after closing the stream",
  },
  "fin-wait": { type: "duration", default: 10_000, help: "how long the server waits for the client's FIN" },
  timeout: { type: "duration", default: 120_000, help: "give up (exit 2) after this long" },
  queue: { type: "int", default: 1024, help: "memory mode: packet queue capacity per direction" },
  verify: { type: "bool", default: true, help: "sha256 both ways (false: all-zero digests, for benches)" },
} as const;

interface PeerReport extends TransferReport {
  mode: string;
  conv: number;
  streamId: number;
  dropped: number;
  error?: string;
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseFlags(FLAGS, args).values;
  } catch (error) {
    if (error instanceof HelpRequested || error instanceof FlagError) {
      if (error instanceof FlagError) console.error(error.message);
      console.error(usage("ts_peer.ts", "our KCP+smux bulk-transfer peer", FLAGS));
      return error instanceof HelpRequested ? 0 : 2;
    }
    throw error;
  }
  const mode = String(values.mode);
  const send = Number(values.send);
  const recv = Number(values.recv) < 0 ? send : Number(values.recv);
  const loss = Number(values.loss);
  const seed = Number(values.seed);
  const verify = Boolean(values.verify);
  const timer = setTimeout(() => {
    console.error(`ts_peer: timed out after ${values.timeout} ms`);
    Deno.exit(2);
  }, Number(values.timeout));

  const data = randomData(send);
  const wrap = (conn: PacketConn) => loss > 0 ? new LossyPacketConn(conn, loss, seed) : conn;
  let report: PeerReport;
  try {
    switch (mode) {
      case "server": {
        const { hostname, port } = parseUdpAddr(String(values.addr));
        const udp = await listenUdp({ hostname, port });
        console.log(`listening ${udp.localAddr}`);
        const conn = wrap(udp);
        const endpoint = await acceptEndpoint(conn);
        const result = await serverTransfer(endpoint.stream, data, recv, Number(values["fin-wait"]), verify);
        await sleep(Number(values.linger));
        report = finishReport(mode, result, endpoint.kcp.conv, endpoint.stream.id, conn);
        endpoint.close();
        udp.close();
        await udp.closed;
        break;
      }
      case "client": {
        console.log("ready");
        const udp = await listenUdp();
        const conn = wrap(udp);
        const endpoint = await dialEndpoint(conn, String(values.addr));
        const result = await clientTransfer(endpoint.stream, data, recv, Number(values.linger), verify);
        report = finishReport(mode, result, endpoint.kcp.conv, endpoint.stream.id, conn);
        endpoint.close();
        udp.close();
        await udp.closed;
        break;
      }
      case "memory":
        console.log("ready");
        report = await runMemory(data, loss, seed, Number(values.queue), verify);
        break;
      default:
        console.error("ts_peer: -mode must be client, server or memory");
        return 2;
    }
  } catch (error) {
    report = { mode, error: String(error) } as PeerReport;
  }
  clearTimeout(timer);
  console.log(JSON.stringify(report));
  for await (const _ of Deno.stdin.readable) {
    // the harness reads our CPU time, then closes stdin
  }
  return report.error ? 1 : 0;
}

/** Moves `data` from our client to our server over an in-memory link, loss on the client's end; the client's report. */
async function runMemory(
  data: Uint8Array,
  loss: number,
  seed: number,
  queue: number,
  verify: boolean,
): Promise<PeerReport> {
  const [a, b] = memoryPacketPair(queue, ["client", "server"]);
  const clientConn = loss > 0 ? new LossyPacketConn(a, loss, seed) : a;
  const serverSide = acceptEndpoint(b).then(async (endpoint) => {
    try {
      return await serverTransfer(endpoint.stream, new Uint8Array(0), data.length, 10_000, verify);
    } finally {
      endpoint.close();
    }
  });
  const endpoint = await dialEndpoint(clientConn, "server");
  try {
    const result = await clientTransfer(endpoint.stream, data, 0, 0, verify);
    const server = await serverSide;
    if (!server.finReceived || server.received !== data.length) {
      throw new Error("server did not get the whole stream and its FIN");
    }
    return finishReport("memory", result, endpoint.kcp.conv, endpoint.stream.id, clientConn);
  } finally {
    endpoint.close();
    a.close();
    b.close();
  }
}

function finishReport(
  mode: string,
  result: TransferReport,
  conv: number,
  streamId: number,
  conn: PacketConn,
): PeerReport {
  const dropped = conn instanceof LossyPacketConn ? conn.dropped : 0;
  return { mode, ...result, conv, streamId, dropped };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
