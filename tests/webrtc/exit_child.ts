/**
 * Child process of exit_test.ts: offers one data channel over stdio
 * signalling (offer line out, answer line in) and calls Deno.exit() as soon
 * as it opens, without closing anything itself.
 */

import { RTCPeerConnection, waitForIceGatheringComplete } from "../../lib/webrtc/mod.ts";

const pc = new RTCPeerConnection({ includeLoopbackCandidates: true });
const channel = pc.createDataChannel("exit");
channel.onopen = () => Deno.exit(0);
await pc.setLocalDescription();
await waitForIceGatheringComplete(pc);
console.log(JSON.stringify(pc.localDescription));
const decoder = new TextDecoder();
let answer = "";
for await (const chunk of Deno.stdin.readable) {
  answer += decoder.decode(chunk, { stream: true });
  if (answer.includes("\n")) break;
}
await pc.setRemoteDescription(JSON.parse(answer));
