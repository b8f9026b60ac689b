/**
 * A browser as the proxy (issue 17 item 1): most Snowflake proxies run in
 * browsers and forward each WebSocket message from the bridge as one
 * RTCDataChannel message, which Chromium refuses above 65,536 bytes when the
 * client's offer names no max-message-size (the Go client's names none). Here
 * Debian's headless Chromium runs a page that does what such a proxy does,
 * between a Turbo Tunnel client on a pion data channel and our server; a
 * 10 MB download from the ORPort side must arrive intact, with no message the
 * page could not send. Everything runs in a network namespace the test makes
 * (both WebRTC ends need non-loopback candidates); the inside is
 * tests/e2e/fixtures/browser_relay.ts.
 */

import assert from "node:assert/strict";
import { CARRIER_MAX_MESSAGE_BYTES } from "../../lib/server/connection/downstream_batch.ts";
import { createNetns, deleteNetns } from "../util/netns.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SIZE = 10 * 1024 * 1024 + 12_345;
const BUDGET_MS = 120_000;

Deno.test("e2e: headless Chromium as the browser proxy relays a 10 MB download from our server intact", async () => {
  const netns = `sfbrowser${Deno.pid}`;
  await createNetns(netns, "sfb");
  try {
    const output = await new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        netns,
        Deno.execPath(),
        "run",
        "-A",
        "tests/e2e/fixtures/browser_relay.ts",
        String(SIZE),
        String(BUDGET_MS),
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout).trim();
    const last = stdout.split("\n").pop() ?? "";
    let result: Record<string, unknown>;
    try {
      result = JSON.parse(last);
    } catch {
      throw new Error(`no result from the fixture:\n${stdout}\n${new TextDecoder().decode(output.stderr)}`);
    }
    assert.equal(result.error, undefined, String(result.error));
    const page = result.page as { sendErrors: string[]; largestToClient: number; messagesToClient: number };
    assert.deepEqual(page.sendErrors, [], "the page could send every message");
    assert.equal(result.received, SIZE);
    assert.equal(result.sha256Received, result.sha256Sent);
    assert.ok(
      page.largestToClient <= CARRIER_MAX_MESSAGE_BYTES,
      `a message of ${page.largestToClient} bytes`,
    );
    console.log(
      `browser proxy: ${SIZE} bytes in ${(result.seconds as number).toFixed(1)} s, ` +
        `${page.messagesToClient} messages, largest ${page.largestToClient} bytes`,
    );
  } finally {
    await deleteNetns(netns);
  }
});
