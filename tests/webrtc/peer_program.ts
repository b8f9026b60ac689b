/**
 * The TS side of the WebRTC cross-process test and bench: one peer over our
 * binding, speaking the same stdio protocol and flags as go_peer/main.go
 * (read its doc): one signalling line each way, a bidirectional bulk transfer
 * on channel "bench", one result line, then close when stdin closes.
 *
 *     deno run -A tests/webrtc/peer_program.ts -role offer -send N -expect N -size 1200
 */

import process from "node:process";
import { parseFlags } from "../../lib/util/flags.ts";
import {
  type RTCDataChannel,
  RTCPeerConnection,
  type RTCSessionDescriptionInit,
  waitForIceGatheringComplete,
} from "../../lib/webrtc/mod.ts";
import { opened, receiveHashed, sendRandom } from "./transfer.ts";

const flags = parseFlags({
  role: { type: "string", default: "offer", help: "offer or answer" },
  send: { type: "int", default: 0, help: "bytes to send" },
  expect: { type: "int", default: 0, help: "bytes to receive" },
  size: { type: "int", default: 1200, help: "message size in bytes" },
}, Deno.args).values;

const lines = stdinLines();
const write = (value: unknown) =>
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(value) + "\n"));
const read = async () => JSON.parse((await lines.next()).value ?? "null") as RTCSessionDescriptionInit;

const pc = new RTCPeerConnection({ includeLoopbackCandidates: true });
let channel: RTCDataChannel;
if (flags.role === "offer") {
  channel = pc.createDataChannel("bench");
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIceGatheringComplete(pc);
  write(pc.localDescription);
  await pc.setRemoteDescription(await read());
} else {
  const announced = new Promise<RTCDataChannel>((resolve) =>
    pc.ondatachannel = (event) => resolve(event.channel)
  );
  await pc.setRemoteDescription(await read());
  await pc.setLocalDescription(await pc.createAnswer());
  await waitForIceGatheringComplete(pc);
  write(pc.localDescription);
  channel = await announced;
}
await opened(channel);

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const start = performance.now();
const startCpu = cpu();
const [sentSha256, { received, sha256 }] = await Promise.all([
  sendRandom(channel, flags.send as number, flags.size as number),
  receiveHashed(channel, flags.expect as number),
]);
write({
  sent: flags.send,
  sentSha256,
  received,
  receivedSha256: sha256,
  seconds: (performance.now() - start) / 1000,
  cpuSeconds: cpu() - startCpu,
});
await lines.next(); // until stdin closes
pc.close();
// Exit as cli/main.ts does: about one natural end in 25-60 after a 20 MB
// transfer died of SIGSEGV in Deno's own teardown (a V8 thread reading the
// freed isolate, denoland/deno#12653); Deno.exit skips that teardown.
Deno.exit(0);

async function* stdinLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of Deno.stdin.readable) {
    pending += decoder.decode(chunk, { stream: true });
    for (let newline; (newline = pending.indexOf("\n")) >= 0;) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
}
