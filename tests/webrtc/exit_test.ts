/**
 * Resources are released on process exit: a peer that exits (Deno.exit)
 * without closing its connection still closes it on the way out, so the
 * remote data channel closes at once instead of waiting for ICE to give up.
 * And the binding does not keep a process alive once its connections are
 * closed.
 */

import assert from "node:assert/strict";
import { RTCPeerConnection, waitForIceGatheringComplete } from "../../lib/webrtc/mod.ts";
import { within } from "./within.ts";

Deno.test("webrtc: a process ends by itself once its connections are closed", async () => {
  const connect = new URL("connect.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { connectPair } from "${connect}";
       const pair = await connectPair();
       pair.local.send("x");
       pair.close();
       console.log("closed");`,
    ],
    stdout: "piped",
  }).spawn();
  try {
    // An event pump that kept polling would hold the process forever.
    const { code, stdout } = await within(child.output(), 20_000, () => "the process did not end");
    assert.equal(code, 0);
    assert.equal(new TextDecoder().decode(stdout).trim(), "closed");
  } finally {
    try {
      child.kill();
    } catch {
      // already exited
    }
  }
});

Deno.test("webrtc: a process that exits with an open connection closes it on the way out", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("exit_child.ts", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const pc = new RTCPeerConnection({ includeLoopbackCandidates: true });
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  try {
    let offer = "";
    while (!offer.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("child exited before its offer");
      offer += new TextDecoder().decode(value);
    }
    const remoteClosed = new Promise<void>((resolve) => {
      pc.ondatachannel = (event) => event.channel.onclose = () => resolve();
    });
    await pc.setRemoteDescription(JSON.parse(offer));
    await pc.setLocalDescription();
    await waitForIceGatheringComplete(pc);
    await writer.write(new TextEncoder().encode(JSON.stringify(pc.localDescription) + "\n"));
    // Without the exit hook nothing closes the channel for well over a minute; with it, milliseconds.
    await within(remoteClosed, 10_000, () => "the remote channel is still open 10 s after the peer exited");
    assert.equal((await child.status).code, 0);
  } finally {
    pc.close();
    await writer.close().catch(() => {});
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // already exited
    }
    await child.status;
  }
});
