/**
 * The proxy's NAT type (issue 13 item 3): RFC 5780 tests over the STUN server
 * (lib/nat's discoverNatType against tests/support/stun_server.ts emulating a
 * NAT), sent in each poll, retested; and a test that never finishes does not
 * hold polling back. The proxy's own probe (`stunNatProbe`, what `-stun` gives
 * the CLI) runs the filtering test too: port-dependent filtering is restricted.
 */

import assert from "node:assert/strict";
import { discoverNatType } from "../../lib/nat/discover_nat_type.ts";
import type { NatType } from "../../lib/messages/nat.ts";
import { stunNatProbe } from "../../lib/proxy/nat_probe.ts";
import { Logger } from "../../lib/util/log.ts";
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

Deno.test("proxy NAT: stunNatProbe runs the RFC 5780 filtering test; port-dependent filtering is restricted", async () => {
  const lines: string[] = [];
  const logger = new Logger((line) => lines.push(line), { verbose: true });
  const cases = [
    [{ filtering: "address-and-port-dependent" }, "restricted"],
    [{ filtering: "address-dependent" }, "unrestricted"],
    [{ mapping: "address-dependent" }, "restricted"],
    [{ mode: "rfc5389" }, "unknown"],
  ] as const;
  for (const [behaviour, expected] of cases) {
    const server = await startStunServer(behaviour);
    try {
      const probe = stunNatProbe(server.url, logger, { transactionTimeoutMs: 600 });
      assert.equal(await probe(new AbortController().signal), expected, JSON.stringify(behaviour));
      if (!("mode" in behaviour)) assert.ok(server.changeRequests > 0, "no CHANGE-REQUEST sent");
    } finally {
      server.close();
    }
  }
  assert.ok(
    lines.some((line) =>
      /NAT test: restricted \(mapping endpoint-independent, filtering port-dependent\)/.test(line)
    ),
  );
  // The proxy puts the probe's answer into its polls.
  const stun = await startStunServer({ filtering: "address-and-port-dependent" });
  const broker = new ScriptedBroker(300);
  const relay = new TestRelay();
  const proxy = startRigProxy(broker, relay, {
    probeNat: stunNatProbe(stun.url, logger, { transactionTimeoutMs: 600 }),
  });
  try {
    while (broker.polls.at(-1)?.nat !== "restricted") await broker.nextPoll();
  } finally {
    await proxy.stop();
    await relay.close();
    stun.close();
  }
});
