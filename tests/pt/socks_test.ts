/** SOCKS5 server side: the machine against goptlib's rules, malformed shapes, a fuzz, and the adapter over TCP. */

import assert from "node:assert/strict";
import { SocksError, type SocksEvent, SocksReply, SocksServerMachine } from "../../lib/pt/socks_machine.ts";
import { acceptSocks } from "../../lib/pt/socks.ts";
import { ConnReader, writeAll } from "./extorport_standin.ts";

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(
    parts.flatMap((part) => typeof part === "string" ? [...new TextEncoder().encode(part)] : part),
  );

const HELLO_USERPASS = [5, 1, 2];
const CONNECT_V4 = [5, 1, 0, 1, 192, 0, 2, 3, 0, 80];
const REPLY_OK = [5, 0, 0, 1, 0, 0, 0, 0, 0, 0];
const reply = (code: number) => [5, code, 0, 1, 0, 0, 0, 0, 0, 0];
function userpass(user: string, pass: string | number[]): number[] {
  const u = [...new TextEncoder().encode(user)];
  const p = typeof pass === "string" ? [...new TextEncoder().encode(pass)] : pass;
  return [1, u.length, ...u, p.length, ...p];
}

/** Feeds `chunks` one by one; returns everything transmitted and the events. */
function run(chunks: Uint8Array[]): { sent: number[]; events: SocksEvent[] } {
  const machine = new SocksServerMachine();
  const sent: number[] = [];
  const events: SocksEvent[] = [];
  for (const chunk of chunks) {
    machine.handleInput(chunk);
    for (let out = machine.pollTransmit(); out; out = machine.pollTransmit()) sent.push(...out);
    for (let event = machine.pollEvent(); event; event = machine.pollEvent()) events.push(event);
  }
  return { sent, events };
}

function request(events: SocksEvent[]) {
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].type, "request", events[0].type === "error" ? events[0].error.message : "");
  return (events[0] as Extract<SocksEvent, { type: "request" }>).request;
}

Deno.test("SOCKS: username/password with PT args and tor's NUL password", () => {
  const { sent, events } = run([
    bytes(HELLO_USERPASS),
    bytes(userpass("url=https://broker.example/;max=3", [0])),
    bytes(CONNECT_V4),
  ]);
  assert.deepEqual(sent, [5, 2, 1, 0]);
  const req = request(events);
  assert.equal(req.target, "192.0.2.3:80");
  assert.equal(req.password, "");
  assert.deepEqual([...req.args], [["url", ["https://broker.example/"]], ["max", ["3"]]]);
});

Deno.test("SOCKS: args split across username and password are joined before parsing", () => {
  // tor puts the first 255 bytes in the username, the rest in the password; the split can fall anywhere.
  const args = "fronts=a.example,b.example;ice=stun:192.0.2.1:3478\\;x;url=https://c.example/";
  for (let cut = 1; cut < args.length; cut++) {
    const { events } = run([
      bytes(HELLO_USERPASS),
      bytes(userpass(args.slice(0, cut), args.slice(cut))),
      bytes(CONNECT_V4),
    ]);
    const req = request(events);
    assert.deepEqual(req.args.get("ice"), ["stun:192.0.2.1:3478;x"], `cut at ${cut}`);
    assert.deepEqual(req.args.get("fronts"), ["a.example,b.example"]);
    assert.deepEqual(req.args.get("url"), ["https://c.example/"]);
  }
});

Deno.test("SOCKS: escapes, repeated keys, and a 255-byte username", () => {
  const long = "k=" + "v".repeat(253);
  const { events } = run([bytes(HELLO_USERPASS), bytes(userpass(long, ";a=\\=\\\\;a=2")), bytes(CONNECT_V4)]);
  const req = request(events);
  assert.equal(req.args.first("k")!.length, 253);
  assert.deepEqual(req.args.get("a"), ["=\\", "2"]);
});

Deno.test("SOCKS: no-authentication clients, and username/password preferred when both are offered", () => {
  let result = run([bytes([5, 1, 0]), bytes(CONNECT_V4)]);
  assert.deepEqual(result.sent, [5, 0]);
  assert.equal(request(result.events).args.size, 0);
  result = run([bytes([5, 2, 0, 2]), bytes(userpass("a=b", "c=d")), bytes(CONNECT_V4)]);
  assert.deepEqual(result.sent.slice(0, 2), [5, 2]);
  // password "c=d" appended to "a=b": "a=bc=d" — goptlib's plain concatenation
  assert.deepEqual(request(result.events).args.get("a"), ["bc=d"]);
});

Deno.test("SOCKS: domain and IPv6 targets, byte-at-a-time delivery", () => {
  const all = bytes(HELLO_USERPASS);
  const steps = [
    all,
    bytes(userpass("a=1", [0])),
    bytes([5, 1, 0, 3, 11], "example.org", [0x01, 0xbb]),
  ];
  const oneByOne = steps.map((step) => [...step].map((b) => new Uint8Array([b])));
  // byte at a time is fine within a message; the next message must wait for our answer, which the machine gives per message
  const machine = new SocksServerMachine();
  let events: SocksEvent[] = [];
  for (const step of oneByOne) {
    for (const b of step) machine.handleInput(b);
    for (let e = machine.pollEvent(); e; e = machine.pollEvent()) events.push(e);
  }
  assert.equal(request(events).target, "example.org:443");
  events = run([
    bytes([5, 1, 0]),
    bytes([5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1, 0, 80]),
  ]).events;
  assert.equal(request(events).target, "[2001:db8::1]:80");
});

/** [why, messages, the bytes we answer in total, the error message]. */
const MALFORMED: [string, number[][], number[], RegExp][] = [
  ["SOCKS4 hello", [[4, 1, 0, 80, 192, 0, 2, 3, 0]], [], /field version was 0x04, not 0x05/],
  ["no acceptable method (GSSAPI only)", [[5, 1, 1]], [5, 0xff], /no compatible methods/],
  ["zero methods", [[5, 0]], [5, 0xff], /no compatible methods/],
  ["auth version 5", [HELLO_USERPASS, [5, 1, 0x61, 1, 0]], [5, 2, 1, 1], /auth version was 0x05/],
  ["empty username", [HELLO_USERPASS, [1, 0, 1, 0]], [5, 2, 1, 1], /username with 0 length/],
  ["empty password", [HELLO_USERPASS, [1, 3, 0x61, 0x3d, 0x62, 0]], [5, 2, 1, 1], /password with 0 length/],
  ["args without '='", [HELLO_USERPASS, userpass("novalue", [0])], [5, 2, 1, 1], /no equals sign/],
  ["args with an empty key", [HELLO_USERPASS, userpass("=v", [0])], [5, 2, 1, 1], /empty key/],
  ["args ending in an escape", [HELLO_USERPASS, userpass("a=b\\", [0])], [5, 2, 1, 1], /final escape/],
  ["request version 4", [HELLO_USERPASS, userpass("a=b", [0]), [4, 1, 0, 1, 0, 0, 0, 0, 0, 0]], [
    5,
    2,
    1,
    0,
    ...reply(1),
  ], /field version was 0x04/],
  ["BIND", [HELLO_USERPASS, userpass("a=b", [0]), [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]], [
    5,
    2,
    1,
    0,
    ...reply(7),
  ], /field command was 0x02, not 0x01/],
  ["UDP ASSOCIATE", [[5, 1, 0], [5, 3, 0, 1, 0, 0, 0, 0, 0, 0]], [5, 0, ...reply(7)], /command was 0x03/],
  [
    "reserved byte set",
    [[5, 1, 0], [5, 1, 1, 1, 0, 0, 0, 0, 0, 0]],
    [5, 0, ...reply(1)],
    /reserved was 0x01/,
  ],
  ["address type 2", [[5, 1, 0], [5, 1, 0, 2, 0, 0, 0, 0, 0, 0]], [5, 0, ...reply(8)], /address type 0x02/],
  ["empty domain", [[5, 1, 0], [5, 1, 0, 3, 0, 0, 80]], [5, 0, ...reply(1)], /domain name with 0 length/],
  ["auth pipelined after hello", [[...HELLO_USERPASS, ...userpass("a=b", [0])]], [5, 2], /bytes left after/],
  ["data after the request", [[5, 1, 0], [...CONNECT_V4, 0x47]], [5, 0], /1 bytes left after SOCKS message/],
];

Deno.test("SOCKS: each malformed shape gets goptlib's answer and a SocksError", () => {
  for (const [why, messages, answer, message] of MALFORMED) {
    const { sent, events } = run(messages.map((m) => new Uint8Array(m)));
    assert.deepEqual(sent, answer, why);
    assert.equal(events.length, 1, why);
    const event = events[0];
    assert.equal(event.type, "error", why);
    if (event.type === "error") {
      assert.ok(event.error instanceof SocksError);
      assert.match(event.error.message, message, why);
    }
  }
});

Deno.test("SOCKS: EOF mid-handshake is a SocksError", () => {
  const machine = new SocksServerMachine();
  machine.handleInput(new Uint8Array([5, 1]));
  machine.handleEof();
  const event = machine.pollEvent();
  assert.equal(event?.type, "error");
  assert.equal(machine.finished, true);
});

Deno.test("SOCKS fuzz: random and mutated input ends in a request, an error or a wait; never a throw", () => {
  let x = 1928;
  const rand = () => (x = (x * 1103515245 + 12345) & 0x7fffffff) >> 8;
  const valid = [...HELLO_USERPASS, ...userpass("url=https://a/;max=2", [0]), ...CONNECT_V4];
  for (let round = 0; round < 5000; round++) {
    let input: number[];
    if (round % 3 === 0) input = Array.from({ length: rand() % 40 }, () => rand() & 0xff);
    else {
      input = valid.slice();
      for (let f = 0; f < 1 + (rand() % 3); f++) input[rand() % input.length] = rand() & 0xff;
    }
    const machine = new SocksServerMachine();
    let at = 0;
    const events: SocksEvent[] = [];
    while (at < input.length && !machine.finished) {
      const n = 1 + (rand() % 8);
      machine.handleInput(new Uint8Array(input.slice(at, at + n)));
      at += n;
      for (let out = machine.pollTransmit(); out; out = machine.pollTransmit()) assert.ok(out.length <= 10);
      for (let e = machine.pollEvent(); e; e = machine.pollEvent()) events.push(e);
    }
    assert.ok(events.length <= 1);
    if (events[0]?.type === "error") assert.ok(events[0].error instanceof SocksError);
  }
});

/** A loopback listener; `client` connects, `server` is the accepted side. */
async function pair(): Promise<{ client: Deno.Conn; server: Deno.Conn; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [client, server] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
    listener.accept(),
  ]);
  listener.close();
  return {
    client,
    server,
    close() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test("acceptSocks: a granted request, then the connection carries data", async () => {
  const conns = await pair();
  try {
    const accepted = acceptSocks(conns.server);
    const reader = new ConnReader(conns.client);
    await writeAll(conns.client, bytes(HELLO_USERPASS));
    assert.deepEqual(await reader.readExact(2), bytes([5, 2]));
    await writeAll(
      conns.client,
      bytes(userpass("fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72", [0])),
    );
    assert.deepEqual(await reader.readExact(2), bytes([1, 0]));
    await writeAll(conns.client, bytes(CONNECT_V4));
    const req = await accepted;
    assert.equal(req.target, "192.0.2.3:80");
    assert.equal(req.args.first("fingerprint"), "2B280B23E1107BB62ABFC40DDCC8824814F80A72");
    await req.grant();
    assert.deepEqual(await reader.readExact(10), bytes(REPLY_OK));
    await writeAll(conns.server, bytes("hello"));
    assert.deepEqual(await reader.readExact(5), bytes("hello"));
    await assert.rejects(() => req.grant(), SocksError);
  } finally {
    conns.close();
  }
});

Deno.test("acceptSocks: reject sends the code and closes", async () => {
  const conns = await pair();
  try {
    const accepted = acceptSocks(conns.server);
    const reader = new ConnReader(conns.client);
    await writeAll(conns.client, bytes([5, 1, 0]));
    await reader.readExact(2);
    await writeAll(conns.client, bytes(CONNECT_V4));
    await (await accepted).reject(SocksReply.hostUnreachable);
    assert.deepEqual(await reader.readExact(10), bytes(reply(4)));
    assert.equal(await reader.readSome(), null);
  } finally {
    conns.close();
  }
});

Deno.test("acceptSocks: a malformed request is answered with its code, closed, and rejected", async () => {
  const conns = await pair();
  try {
    const accepted = acceptSocks(conns.server);
    const failed = assert.rejects(
      accepted,
      (error: unknown) => error instanceof SocksError && /command/.test(error.message),
    );
    const reader = new ConnReader(conns.client);
    await writeAll(conns.client, bytes([5, 1, 0]));
    await reader.readExact(2);
    await writeAll(conns.client, bytes([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]));
    assert.deepEqual(await reader.readExact(10), bytes(reply(7)));
    assert.equal(await reader.readSome(), null);
    await failed;
  } finally {
    conns.close();
  }
});

Deno.test("acceptSocks: a client that stalls is dropped after timeoutMs; one that hangs up is an error", async () => {
  let conns = await pair();
  try {
    const accepted = acceptSocks(conns.server, { timeoutMs: 100 });
    await writeAll(conns.client, bytes([5, 1]));
    await assert.rejects(accepted, /timed out/);
    assert.equal(await new ConnReader(conns.client).readSome(), null);
  } finally {
    conns.close();
  }
  conns = await pair();
  try {
    const accepted = acceptSocks(conns.server);
    await writeAll(conns.client, bytes([5, 1, 0]));
    conns.client.closeWrite();
    await assert.rejects(accepted, /EOF/);
  } finally {
    conns.close();
  }
});
