/** The NAT discovery machine driven with a fake clock and an in-memory STUN responder. */

import assert from "node:assert/strict";
import { parseIp } from "../../lib/net/addr.ts";
import { NatDiscovery, type NatDiscoveryOptions, type NatDiscoveryResult } from "../../lib/nat/discovery.ts";
import {
  ATTR_CHANGE_REQUEST,
  ATTR_ERROR_CODE,
  ATTR_OTHER_ADDRESS,
  ATTR_XOR_MAPPED_ADDRESS,
  decodeStunMessage,
  encodeStunMessageBytes,
  findAttribute,
  STUN_BINDING_ERROR,
  STUN_BINDING_SUCCESS,
  type StunAttribute,
  type StunMessage,
} from "../../lib/nat/stun_message.ts";
import { encodeAddress, encodeErrorCode, encodeXorAddress } from "../../lib/nat/stun_attributes.ts";

const PRIMARY = "192.0.2.1:3478";
const OTHER = "192.0.2.3:3479";
const addr = (text: string) => {
  const colon = text.lastIndexOf(":");
  return { ip: parseIp(text.slice(0, colon).replace(/^\[|\]$/g, ""))!, port: Number(text.slice(colon + 1)) };
};

/** Answers as `respond` says, to each request sent to `to`; null = the answer is lost. */
type Responder = (request: StunMessage, to: string) => Uint8Array | null;

function success(request: StunMessage, mapped: string, other?: string): Uint8Array {
  const attributes: StunAttribute[] = [
    { type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress(addr(mapped), request.transactionId) },
  ];
  if (other) attributes.push({ type: ATTR_OTHER_ADDRESS, value: encodeAddress(addr(other)) });
  return encodeStunMessageBytes({
    type: STUN_BINDING_SUCCESS,
    transactionId: request.transactionId,
    attributes,
  });
}

/** A NAT mapping the client to `mappedFor(destination)`, behind an RFC 5780 server. */
function natResponder(mappedFor: (to: string) => string, answersPortChange = true): Responder {
  return (request, to) => {
    if (findAttribute(request, ATTR_CHANGE_REQUEST)) {
      return answersPortChange ? success(request, mappedFor(to), OTHER) : null;
    }
    return success(request, mappedFor(to), to === PRIMARY ? OTHER : PRIMARY);
  };
}

interface Run {
  result: NatDiscoveryResult | null;
  /** [time, destination] of every datagram sent. */
  sent: [number, string][];
  end: number;
}

/** Drives the machine to its result: replies arrive `rttMs` after each send; the clock jumps to each timeout. */
function drive(respond: Responder, options: Partial<NatDiscoveryOptions> = {}, rttMs = 20): Run {
  let ids = 0;
  const machine = new NatDiscovery({
    server: addr(PRIMARY),
    randomTransactionId: () => new Uint8Array(12).fill(++ids),
    ...options,
  });
  const sent: [number, string][] = [];
  const inFlight: [number, Uint8Array][] = [];
  let now = 1000;
  machine.start(now);
  for (let steps = 0; steps < 1000; steps++) {
    for (let out = machine.pollTransmit(); out; out = machine.pollTransmit()) {
      sent.push([now, out.to]);
      const reply = respond(decodeStunMessage(out.packet)[0], out.to);
      if (reply) inFlight.push([now + rttMs, reply]);
    }
    const event = machine.pollEvent();
    if (event) return { result: event.result, sent, end: now };
    const timeout = machine.pollTimeout();
    const arrival = inFlight.length ? inFlight[0][0] : Infinity;
    assert.ok(timeout !== null, "a running machine always has a timeout");
    if (arrival <= timeout) {
      now = arrival;
      machine.handleInput(now, inFlight.shift()![1]);
    } else {
      now = timeout;
      machine.handleTimeout(now);
    }
  }
  throw new Error("machine did not finish in 1000 steps");
}

Deno.test("NAT discovery: the same mapping from both server addresses is unrestricted", () => {
  const run = drive(natResponder(() => "203.0.113.7:40000"));
  assert.deepEqual(run.result, {
    natType: "unrestricted",
    mapping: "endpoint-independent",
    filtering: "untested",
  });
  assert.deepEqual(run.sent.map(([, to]) => to), [PRIMARY, OTHER]);
});

Deno.test("NAT discovery: a mapping that changes with the server address is restricted", () => {
  const run = drive(natResponder((to) => (to === PRIMARY ? "203.0.113.7:40000" : "203.0.113.7:40001")));
  assert.deepEqual(run.result, {
    natType: "restricted",
    mapping: "endpoint-dependent",
    filtering: "untested",
  });
});

Deno.test("NAT discovery: a server without OTHER-ADDRESS gives unknown after one request", () => {
  const run = drive((request) => success(request, "203.0.113.7:40000"));
  assert.equal(run.result?.natType, "unknown");
  assert.match(run.result!.reason!, /no OTHER-ADDRESS/);
  assert.equal(run.sent.length, 1);
});

Deno.test("NAT discovery: an error response gives unknown with the code", () => {
  const run = drive((request) =>
    encodeStunMessageBytes({
      type: STUN_BINDING_ERROR,
      transactionId: request.transactionId,
      attributes: [{
        type: ATTR_ERROR_CODE,
        value: encodeErrorCode({ code: 420, reason: "Unknown Attribute" }),
      }],
    })
  );
  assert.equal(run.result?.natType, "unknown");
  assert.match(run.result!.reason!, /420 Unknown Attribute/);
});

Deno.test("NAT discovery: retransmits at RTO 500 ms doubling, then unknown at the transaction timeout", () => {
  const run = drive(() => null);
  assert.deepEqual(run.sent.map(([t]) => t - 1000), [0, 500, 1500, 3500]);
  assert.equal(run.end - 1000, 5000);
  assert.equal(run.result?.natType, "unknown");
  assert.match(run.result!.reason!, /no answer from the STUN server/);
});

Deno.test("NAT discovery: the first answers lost, a retransmission's answer is used", () => {
  let count = 0;
  const inner = natResponder(() => "203.0.113.7:40000");
  const run = drive((request, to) => (++count <= 2 ? null : inner(request, to)));
  assert.equal(run.result?.natType, "unrestricted");
  assert.deepEqual(run.sent.map(([t, to]) => [t - 1000, to]), [
    [0, PRIMARY],
    [500, PRIMARY],
    [1500, PRIMARY],
    [1520, OTHER],
  ]);
});

Deno.test("NAT discovery: OTHER-ADDRESS silent is unknown, not a guess", () => {
  const inner = natResponder(() => "203.0.113.7:40000");
  const run = drive((request, to) => (to === OTHER ? null : inner(request, to)));
  assert.equal(run.result?.natType, "unknown");
  assert.match(run.result!.reason!, /OTHER-ADDRESS/);
});

Deno.test("NAT discovery: junk, other messages and answers with another transaction ID are ignored", () => {
  let ids = 0;
  const machine = new NatDiscovery({
    server: addr(PRIMARY),
    randomTransactionId: () => new Uint8Array(12).fill(++ids),
  });
  machine.start(0);
  const first = decodeStunMessage(machine.pollTransmit()!.packet)[0];
  machine.handleInput(1, new Uint8Array([1, 2, 3]));
  machine.handleInput(2, new Uint8Array(40));
  const stranger = { ...first, transactionId: new Uint8Array(12).fill(99) };
  machine.handleInput(3, success(stranger, "203.0.113.7:40000", OTHER));
  // a request, not a response, with the right ID
  machine.handleInput(4, encodeStunMessageBytes({ ...first }));
  assert.equal(machine.pollTransmit(), null);
  assert.equal(machine.pollEvent(), null);
  machine.handleInput(5, success(first, "203.0.113.7:40000", OTHER));
  const second = machine.pollTransmit()!;
  assert.equal(second.to, OTHER);
  // a late duplicate answer to Test I is not taken as Test II's
  machine.handleInput(6, success(first, "203.0.113.7:40009", OTHER));
  assert.equal(machine.pollEvent(), null);
  machine.handleInput(7, success(decodeStunMessage(second.packet)[0], "203.0.113.7:40000", PRIMARY));
  assert.equal(machine.pollEvent()?.result.natType, "unrestricted");
  assert.equal(machine.pollTimeout(), null);
});

Deno.test("NAT discovery with the filtering test: a port-change answer keeps it unrestricted", () => {
  const run = drive(natResponder(() => "203.0.113.7:40000", true), { testFiltering: true });
  assert.deepEqual(run.result, {
    natType: "unrestricted",
    mapping: "endpoint-independent",
    filtering: "port-independent",
  });
  assert.deepEqual(run.sent.map(([, to]) => to), [PRIMARY, OTHER, PRIMARY]);
});

Deno.test("NAT discovery with the filtering test: no port-change answer within the timeout is restricted", () => {
  const run = drive(natResponder(() => "203.0.113.7:40000", false), {
    testFiltering: true,
    transactionTimeoutMs: 2000,
  });
  assert.deepEqual(run.result, {
    natType: "restricted",
    mapping: "endpoint-independent",
    filtering: "port-dependent",
  });
  assert.equal(run.sent.filter(([, to]) => to === PRIMARY).length, 1 + 3); // Test I, then 0, 500, 1500 ms
});

Deno.test("NAT discovery: the overall timeout ends it as unknown even mid-retransmission", () => {
  const run = drive(() => null, { timeoutMs: 2000 });
  assert.equal(run.end - 1000, 2000);
  assert.deepEqual(run.result, {
    natType: "unknown",
    mapping: "unknown",
    filtering: "untested",
    reason: "timed out",
  });
});

Deno.test("NAT discovery: an OTHER-ADDRESS of another family is unknown", () => {
  const run = drive((request) => success(request, "203.0.113.7:40000", "[2001:db8::1]:3479"));
  assert.equal(run.result?.natType, "unknown");
});

Deno.test("NAT discovery fuzz: random replies never throw and always end", () => {
  let x = 7;
  const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
  for (let round = 0; round < 300; round++) {
    const run = drive((request, to) => {
      const choice = rand() % 5;
      if (choice === 0) return null;
      if (choice === 1) return new Uint8Array(rand() % 100).map(() => rand());
      const bytes = natResponder(() => "203.0.113.7:40000")(request, to)!;
      if (choice === 2) bytes[20 + (rand() % (bytes.length - 20))] ^= 1 + (rand() % 255);
      return bytes;
    }, { testFiltering: round % 2 === 0 });
    assert.ok(["unknown", "restricted", "unrestricted"].includes(run.result!.natType));
  }
});
