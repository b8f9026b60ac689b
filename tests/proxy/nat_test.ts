/**
 * The proxy's NAT type (issue 13 item 3): RFC 5780 tests over the STUN server
 * (lib/nat's discoverNatType against tests/support/stun_server.ts emulating a
 * NAT), sent in each poll, retested; and a test that never finishes does not
 * hold polling back.
 */

import assert from "node:assert/strict";
import { discoverNatType } from "../../lib/nat/discover_nat_type.ts";
import type { NatType } from "../../lib/messages/nat.ts";
import { startStunServer } from "../support/stun_server.ts";
import { ScriptedBroker, startRigProxy, TestRelay } from "./loopback_rig.ts";

Deno.test("proxy NAT: the RFC 5780 result goes into the polls; a changed NAT is seen at the retest", async () => {
  const servers = [
    await startStunServer({ mapping: "endpoint-independent" }),
    await startStunServer({ mapping: "address-dependent" }),
  ];
  let current = 0;
  const broker = new ScriptedBroker(300);
  const relay = new TestRelay();
  const changes: NatType[] = [];
  const proxy = startRigProxy(broker, relay, {
    probeNat: (signal) => discoverNatType({ stunUrl: servers[current].url, signal }),
    natRetestIntervalMs: 1_000,
  });
  proxy.events.addEventListener("natchange", (e) => changes.push(e.detail.nat));
  try {
    const waitForPollWith = async (nat: string) => {
      while (broker.polls.at(-1)?.nat !== nat) await broker.nextPoll();
    };
    await waitForPollWith("unrestricted");
    assert.equal(proxy.natType, "unrestricted");
    current = 1;
    await waitForPollWith("restricted");
    assert.deepEqual(changes, ["unrestricted", "restricted"]);
    assert.equal(proxy.stats().nat, "restricted");
  } finally {
    await proxy.stop();
    await relay.close();
    for (const server of servers) server.close();
  }
});

Deno.test("proxy NAT: a NAT test that never ends does not hold polling back; the type stays unknown", async () => {
  const broker = new ScriptedBroker(100);
  const relay = new TestRelay();
  let probing = 0;
  const proxy = startRigProxy(broker, relay, {
    probeNat: (signal) => {
      probing++;
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    },
  });
  try {
    await broker.nextPoll();
    await broker.nextPoll();
    assert.equal(probing, 1);
    assert.ok(broker.polls.every((poll) => poll.nat === "unknown"));
  } finally {
    await proxy.stop(); // aborts the hanging test
    await relay.close();
  }
});
