import assert from "node:assert/strict";
import { decodeFrameHeader, encodeClosePayload, encodeFrame } from "../../lib/websocket/frame.ts";
import { type WebSocketEvent, WebSocketProtocol } from "../../lib/websocket/protocol.ts";
import { concat } from "../../lib/util/bytes.ts";
import { Prng } from "../util/netem.ts";

const text = (s: string) => new TextEncoder().encode(s);
const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
/** A masked client frame. */
const client = (opcode: number, payload: Uint8Array, fin = true, rsv = 0) =>
  encodeFrame(opcode, payload, { fin, mask: MASK, rsv });

function drain(protocol: WebSocketProtocol): { events: WebSocketEvent[]; sent: Uint8Array[] } {
  const events: WebSocketEvent[] = [];
  const sent: Uint8Array[] = [];
  for (let e = protocol.pollEvent(); e; e = protocol.pollEvent()) events.push(e);
  for (let f = protocol.pollTransmit(); f; f = protocol.pollTransmit()) sent.push(f);
  return { events, sent };
}

function dataOf(events: WebSocketEvent[]): Uint8Array {
  return concat(events.flatMap((e) => e.type === "data" ? [e.bytes] : []));
}

Deno.test("protocol: masked messages, fragmented, with a ping between the fragments; pong echoes the payload", () => {
  const p = new WebSocketProtocol();
  p.handleInput(concat([
    client(2, text("Hello")),
    client(1, text("Hel"), false),
    client(9, text("ping!")),
    client(0, text("lo"), true),
  ]));
  const { events, sent } = drain(p);
  assert.equal(new TextDecoder().decode(dataOf(events)), "HelloHello");
  assert.deepEqual(events.filter((e) => e.type === "data").map((e) => e.type === "data" && e.last), [
    true,
    false,
    true,
  ]);
  assert.deepEqual(sent, [encodeFrame(0xa, text("ping!"))]);
});

Deno.test("protocol: the peer's close is echoed with its code and ends input", () => {
  const p = new WebSocketProtocol();
  p.handleInput(concat([client(8, encodeClosePayload(1001, "going")), client(2, text("late"))]));
  const { events, sent } = drain(p);
  assert.deepEqual(events, [{ type: "close", code: 1001, reason: "going" }]);
  assert.deepEqual(sent, [encodeFrame(8, encodeClosePayload(1001))]);
  assert.ok(p.inputEnded && p.closeSent);
  // An empty close is echoed empty.
  const q = new WebSocketProtocol();
  q.handleInput(client(8, new Uint8Array(0)));
  assert.deepEqual(drain(q).sent, [new Uint8Array([0x88, 0x00])]);
});

Deno.test("protocol: server messages are single unmasked binary frames; nothing after our close", () => {
  const p = new WebSocketProtocol();
  p.sendMessage(text("abc"));
  p.close(1000);
  p.sendMessage(text("dropped"));
  p.close(1002);
  assert.deepEqual(drain(p).sent, [encodeFrame(2, text("abc")), encodeFrame(8, encodeClosePayload(1000))]);
});

Deno.test("protocol: several messages in one buffer, each its own frame", () => {
  const p = new WebSocketProtocol();
  p.sendMessages([text("a"), new Uint8Array(300), text("bc")]);
  assert.deepEqual(drain(p).sent, [
    concat([encodeFrame(2, text("a")), encodeFrame(2, new Uint8Array(300)), encodeFrame(2, text("bc"))]),
  ]);
});

Deno.test("protocol: each breach of RFC 6455 closes with its code and ends input", () => {
  const cases: [string, Uint8Array, number, WebSocketProtocol?][] = [
    ["unmasked client frame", encodeFrame(2, text("x")), 1002],
    ["reserved opcode 3", client(3, text("x")), 1002],
    ["reserved opcode 0xb", client(0xb, text("x")), 1002],
    ["RSV1 without an extension", client(2, text("x"), true, 4), 1002],
    ["fragmented ping", client(9, text("x"), false), 1002],
    ["ping of 126 bytes", client(9, new Uint8Array(126)), 1002],
    ["continuation outside a message", client(0, text("x")), 1002],
    [
      "new message inside a fragmented one",
      concat([client(2, text("a"), false), client(2, text("b"))]),
      1002,
    ],
    [
      "frame over the limit",
      client(2, new Uint8Array(101)),
      1009,
      new WebSocketProtocol({ maxMessageBytes: 100 }),
    ],
    [
      "message over the limit in fragments",
      concat([client(2, new Uint8Array(60), false), client(0, new Uint8Array(60))]),
      1009,
      new WebSocketProtocol({ maxMessageBytes: 100 }),
    ],
    ["text that is not UTF-8", client(1, new Uint8Array([0xc3, 0x28])), 1007],
    ["a close with a 1-byte payload", client(8, new Uint8Array([3])), 1002],
    ["a close with code 1005", client(8, new Uint8Array([0x03, 0xed])), 1002],
  ];
  for (const [name, input, code, machine] of cases) {
    const p = machine ?? new WebSocketProtocol();
    p.handleInput(concat([input, client(2, text("after"))]));
    const { events, sent } = drain(p);
    const error = events.find((e) => e.type === "error");
    assert.ok(
      error && error.type === "error" && error.closeCode === code,
      `${name}: ${JSON.stringify(events)}`,
    );
    assert.equal(new TextDecoder().decode(dataOf(events)).includes("after"), false, `${name}: input went on`);
    const [header, at] = decodeFrameHeader(sent[sent.length - 1])!;
    assert.equal(header.opcode, 8, name);
    const payload = sent[sent.length - 1].subarray(at);
    assert.equal((payload[0] << 8) | payload[1], code, name);
  }
});

Deno.test("protocol: UTF-8 split across fragments is valid text", () => {
  const euro = text("€"); // e2 82 ac
  const p = new WebSocketProtocol();
  p.handleInput(concat([client(1, euro.subarray(0, 1), false), client(0, euro.subarray(1))]));
  const { events } = drain(p);
  assert.deepEqual(dataOf(events), euro);
  assert.equal(events.some((e) => e.type === "error"), false);
});

Deno.test("fuzz: valid frames in random splits deliver the same bytes; random input ends only in typed events", () => {
  const prng = new Prng(1009);
  for (let round = 0; round < 300; round++) {
    const frames: Uint8Array[] = [];
    const expected: Uint8Array[] = [];
    for (let i = 0; i < 1 + prng.below(8); i++) {
      const payload = prng.bytes(prng.below(3) === 0 ? prng.below(70_000) : prng.below(200));
      const pieces = 1 + prng.below(3);
      const step = Math.ceil(payload.length / pieces) || 1;
      for (let at = 0, first = true; first || at < payload.length; at += step, first = false) {
        const part = payload.subarray(at, at + step);
        const fin = at + step >= payload.length;
        frames.push(encodeFrame(first ? 2 : 0, part, { fin, mask: prng.bytes(4) }));
        if (prng.below(4) === 0 && !fin) {
          frames.push(encodeFrame(9, prng.bytes(prng.below(126)), { mask: prng.bytes(4) }));
        }
      }
      expected.push(payload);
    }
    const wire = concat(frames);
    const p = new WebSocketProtocol();
    const got: Uint8Array[] = [];
    for (let at = 0; at < wire.length;) {
      const take = 1 + prng.below(prng.below(2) ? 20 : 9000);
      p.handleInput(wire.slice(at, at + take));
      at += take;
      for (let e = p.pollEvent(); e; e = p.pollEvent()) {
        assert.notEqual(e.type, "error", JSON.stringify(e));
        if (e.type === "data") got.push(e.bytes.slice());
      }
      while (p.pollTransmit());
    }
    assert.deepEqual(concat(got), concat(expected), `round ${round}`);
  }
  for (let round = 0; round < 2000; round++) {
    const p = new WebSocketProtocol({ maxMessageBytes: 4096 });
    const wire = prng.bytes(prng.below(600));
    for (let at = 0; at < wire.length;) {
      const take = 1 + prng.below(50);
      p.handleInput(wire.slice(at, at + take)); // must not throw
      at += take;
    }
    for (let e = p.pollEvent(); e; e = p.pollEvent()) assert.ok(["data", "close", "error"].includes(e.type));
  }
});
