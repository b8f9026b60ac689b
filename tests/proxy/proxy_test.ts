/**
 * startProxy on one host (tests/proxy/loopback_rig.ts): relaying both ways
 * with message splitting, capacity, teardown on every path (client gone,
 * relay gone, inactivity, relay refusing or stalling, no data channel), and
 * each kind of bad input from the broker. Every test checks the slot came
 * back (`stats().clients` is 0 again) and that polling went on.
 */

import assert from "node:assert/strict";
import {
  connectClient,
  echo,
  nextClientClosed,
  ScriptedBroker,
  startRigProxy,
  TestClient,
  TestRelay,
} from "./loopback_rig.ts";
import { randomBytes, sha256Hex } from "../server/harness.ts";
import type { ProxyHandle } from "../../lib/proxy/proxy.ts";
import { parseSessionDescription } from "../../lib/messages/session_description.ts";

/** Runs `body` with a broker, a relay and a proxy, and tears all down. */
async function withRig(
  body: (rig: { broker: ScriptedBroker; relay: TestRelay; proxy: ProxyHandle }) => Promise<void>,
  config: Parameters<typeof startRigProxy>[2] = {},
): Promise<void> {
  const broker = new ScriptedBroker();
  const relay = new TestRelay();
  const proxy = startRigProxy(broker, relay, config);
  try {
    await body({ broker, relay, proxy });
  } finally {
    await proxy.stop();
    await relay.close();
  }
}

Deno.test("proxy: relays both ways; a relay message over the client's max-message-size is split, not dropped", async () => {
  await withRig(async ({ broker, relay, proxy }) => {
    const big = randomBytes(200_000 + 123);
    relay.behaviour = (socket, request) => {
      echo(socket, request);
      socket.send(big); // one WebSocket message, three times what a data channel carries
    };
    const client = await connectClient(broker);
    await client.opened;
    await client.waitForBytes(big.length);
    assert.ok(
      client.received.every((m) => m.length <= 65_536),
      client.received.map((m) => m.length).join(","),
    );
    assert.equal(await sha256Hex(client.bytes()), await sha256Hex(big));
    // Then 1 MB up in 1000-byte messages, echoed back.
    const up = randomBytes(1_000_000);
    for (let i = 0; i < up.length; i += 1000) client.channel.send(up.subarray(i, i + 1000));
    await client.waitForBytes(big.length + up.length);
    assert.equal(await sha256Hex(client.bytes().subarray(big.length)), await sha256Hex(up));
    const stats = proxy.stats();
    assert.equal(stats.bytesFromClients, up.length);
    assert.equal(stats.bytesToClients, big.length + up.length);
    assert.equal(stats.clients, 1);
    assert.equal(stats.connections, 1);
    const closed = nextClientClosed(proxy);
    client.close();
    const detail = await closed;
    assert.equal(detail.reason, "client closed");
    assert.equal(detail.bytesFromClient, up.length);
    assert.equal(proxy.stats().clients, 0);
  });
});

Deno.test("proxy: client messages that arrive together go to the relay joined, in order, at most 32 KiB a message", async () => {
  await withRig(async ({ broker, relay }) => {
    const sizes: number[] = [];
    relay.behaviour = (socket) => {
      socket.binaryType = "arraybuffer";
      socket.onmessage = (event) => {
        sizes.push((event.data as ArrayBuffer).byteLength);
        socket.send(event.data);
      };
    };
    const client = await connectClient(broker);
    await client.opened;
    const up = randomBytes(2_000_000);
    for (let i = 0; i < up.length; i += 1000) client.channel.send(up.subarray(i, i + 1000));
    await client.waitForBytes(up.length);
    assert.equal(await sha256Hex(client.bytes()), await sha256Hex(up), "intact and in order");
    assert.ok(sizes.length < 2000 / 2, `${sizes.length} relay messages for 2000 client messages`);
    assert.ok(Math.max(...sizes) <= 32 * 1024, `largest relay message ${Math.max(...sizes)}`);
    client.close();
  });
});

Deno.test("proxy: -capacity 1 holds polling while a client is served, and polls again when it leaves", async () => {
  await withRig(async ({ broker, proxy }) => {
    const client = await connectClient(broker);
    await client.opened;
    assert.equal(broker.polls.at(-1)!.clients, 0); // the slot being polled for, rounded down to 8
    const pollsWhileServing = broker.polls.length;
    // More than one poll interval (2 s) with the only slot taken: no poll.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(broker.polls.length, pollsWhileServing);
    assert.equal(broker.heldPolls, 0);
    const polled = broker.nextPoll();
    client.close();
    await polled;
    assert.equal(proxy.stats().clients, 0);
  }, { capacity: 1 });
});

Deno.test("proxy: a client that opens the channel and never sends, with a silent relay: inactivity closes both", async () => {
  await withRig(async ({ broker, relay, proxy }) => {
    relay.behaviour = () => {};
    const closed = nextClientClosed(proxy);
    const client = await connectClient(broker);
    await client.opened;
    const socket = await relay.nextSocket();
    const socketClosed = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
    assert.equal((await closed).reason, "inactivity");
    await socketClosed;
    await client.closed;
    assert.equal(proxy.stats().clients, 0);
    assert.equal(proxy.stats().closes.inactivity, 1);
  }, { timeouts: { inactivityMs: 500 } });
});

Deno.test("proxy: a relay that refuses the upgrade, or stalls it: the client is closed and the slot freed", async () => {
  await withRig(async ({ broker, relay, proxy }) => {
    relay.refuse = new Response("go away", { status: 403 });
    let closed = nextClientClosed(proxy);
    let client = await connectClient(broker);
    let detail = await closed;
    assert.equal(detail.reason, "relay dial failed");
    assert.equal(detail.connected, true);
    await client.closed;
    // A TCP listener that never answers the upgrade.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    try {
      closed = nextClientClosed(proxy);
      client = await connectClient(broker, `ws://127.0.0.1:${silent.addr.port}/`);
      detail = await closed;
      assert.equal(detail.reason, "relay dial failed");
      assert.match(detail.detail ?? "", /timed out/);
      await client.closed;
    } finally {
      silent.close();
      for (const conn of held) conn.close();
    }
    assert.equal(proxy.stats().clients, 0);
  }, { timeouts: { relayDialMs: 500 } });
});

Deno.test("proxy: the client dying mid-transfer closes the relay; the relay dying closes the client", async () => {
  await withRig(async ({ broker, relay, proxy }) => {
    // Relay streams to the client until told otherwise.
    relay.behaviour = (socket) => {
      const chunk = new Uint8Array(16_384);
      const timer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send(chunk), 5);
      socket.addEventListener("close", () => clearInterval(timer));
    };
    let closed = nextClientClosed(proxy);
    let client = await connectClient(broker);
    const socket = await relay.nextSocket();
    const socketClosed = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
    await client.waitForBytes(100_000);
    client.close();
    assert.equal((await closed).reason, "client closed");
    await socketClosed;

    closed = nextClientClosed(proxy);
    client = await connectClient(broker);
    const second = await relay.nextSocket();
    await client.waitForBytes(100_000);
    second.close();
    assert.equal((await closed).reason, "relay closed");
    await client.closed;
    assert.equal(proxy.stats().clients, 0);
  });
});

Deno.test("proxy: bad offers from the broker are refused, the slot comes back, polling goes on", async () => {
  await withRig(async ({ broker, proxy }) => {
    const offers = [
      "not json",
      '{"type":7,"sdp":"v=0\\r\\n"}', // Go 2.5.1 proxies panicked on a non-string type
      '{"type":"answer","sdp":"v=0\\r\\n"}',
      '{"type":"offer","sdp":"v=0\\r\\ngarbage that is no SDP\\r\\n"}', // passes the JSON check, not pion's
      JSON.stringify({ type: "offer", sdp: "v=0\r\n" + "a=x\r\n".repeat(10_000) }),
    ];
    const reasons: string[] = [];
    proxy.events.addEventListener("clientclosed", (e) => reasons.push(e.detail.reason));
    for (const offer of offers) {
      const closed = nextClientClosed(proxy);
      broker.queue({ offer, relayURL: "", onAnswer: () => true });
      await closed;
    }
    assert.deepEqual(reasons, offers.map(() => "bad offer"));
    assert.equal(broker.answers.length, 0);
    // Still polling, and a good client still gets through.
    const client = await connectClient(broker);
    await client.opened;
    client.close();
    assert.equal(proxy.stats().closes["bad offer"], offers.length);
  });
});

Deno.test("proxy: broker junk and errors: a poll error, then polling goes on", async () => {
  await withRig(async ({ broker, proxy }) => {
    const errors: string[] = [];
    proxy.events.addEventListener("poll", (e) => e.detail.error && errors.push(e.detail.error));
    broker.pollReply = () => new Response("<html>junk</html>");
    await broker.nextPoll();
    broker.pollReply = () => new Response(new Uint8Array(200_000));
    await broker.nextPoll();
    broker.pollReply = () => new Response("", { status: 503 });
    await broker.nextPoll();
    broker.pollReply = undefined;
    const client = await connectClient(broker);
    await client.opened;
    assert.equal(errors.length, 3, errors.join("\n"));
    assert.match(errors[0], /bad poll reply/);
    assert.match(errors[1], /over 100000 bytes/);
    assert.match(errors[2], /status code 503/);
    assert.equal(proxy.stats().brokerErrors, 3);
    client.close();
  }, { maxBackoffMs: 2_000 });
});

Deno.test("proxy: a relay URL from the broker that breaks a rule is refused before answering", async () => {
  await withRig(async ({ broker, proxy }) => {
    const refused = [
      "ws://127.0.0.1:9/", // loopback, without -allow-proxying-to-private-addresses
      "wss://relay.example.org/", // outside the pattern
      "ws://snowflake.torproject.net/", // plain ws without -allow-non-tls-relay
      "https://snowflake.torproject.net/",
    ];
    for (const relayURL of refused) {
      const closed = nextClientClosed(proxy);
      const client = await connectClient(broker, relayURL);
      const detail = await closed;
      assert.equal(detail.reason, "relay refused", relayURL);
      assert.equal(detail.connected, false);
      client.close();
    }
    assert.equal(broker.answers.length, 0);
    assert.equal(proxy.stats().clients, 0);
  }, {
    allowPrivateAddresses: false,
    allowNonTlsRelay: false,
    allowedRelayHostnamePattern: "snowflake.torproject.net$",
  });
});

Deno.test("proxy: a client that never opens its channel, or is gone: data channel timeout / answer failed", async () => {
  await withRig(async ({ broker, proxy }) => {
    const silent = new TestClient();
    const closed = nextClientClosed(proxy);
    broker.queue({ offer: await silent.offer(), relayURL: "", onAnswer: () => true }); // answer never applied
    assert.equal((await closed).reason, "data channel timeout");
    assert.equal(proxy.stats().timeouts, 1);
    silent.close();
    const gone = new TestClient();
    const goneClosed = nextClientClosed(proxy);
    broker.queue({ offer: await gone.offer(), relayURL: "", onAnswer: () => false });
    const detail = await goneClosed;
    assert.equal(detail.reason, "answer failed");
    assert.match(detail.detail ?? "", /client gone/);
    gone.close();
    assert.equal(proxy.stats().clients, 0);
  }, { timeouts: { dataChannelMs: 1_000 } });
});

Deno.test("proxy: stop() closes every client and resolves", async () => {
  const broker = new ScriptedBroker();
  const relay = new TestRelay();
  const proxy = startRigProxy(broker, relay);
  try {
    const client = await connectClient(broker);
    await client.opened;
    await relay.nextSocket();
    const closed = nextClientClosed(proxy);
    await proxy.stop();
    assert.equal((await closed).reason, "stopped");
    await client.closed;
    assert.equal(proxy.stats().clients, 0);
  } finally {
    await proxy.stop();
    await relay.close();
  }
});

Deno.test("proxy: the bandwidth cap holds a transfer to its rate and delivers it intact", async () => {
  await withRig(async ({ broker, relay }) => {
    const size = 300_000;
    const data = randomBytes(size);
    relay.behaviour = (socket) => {
      for (let i = 0; i < size; i += 10_000) socket.send(data.subarray(i, i + 10_000));
    };
    const client = await connectClient(broker);
    await client.opened;
    const start = performance.now();
    await client.waitForBytes(size);
    const elapsed = performance.now() - start;
    assert.equal(await sha256Hex(client.bytes()), await sha256Hex(data));
    // 100 kB/s with a one-second burst: 300 kB need at least ~2 s. (A lower bound: load only adds to it.)
    assert.ok(elapsed >= 1_800, `${elapsed} ms`);
    client.close();
  }, { bandwidthCapBytesPerSecond: 100_000 });
});

Deno.test("proxy: a client that names a small max-message-size gets messages no larger", async () => {
  await withRig(async ({ broker, relay }) => {
    const data = randomBytes(50_000);
    relay.behaviour = (socket) => socket.send(data);
    const client = new TestClient();
    const offer = JSON.parse(await client.offer());
    assert.doesNotMatch(offer.sdp, /a=max-message-size/); // pion names none, as the Go client
    offer.sdp = offer.sdp.replace(/(m=application[^\r\n]*\r\n)/, "$1a=max-message-size:1200\r\n");
    broker.queue({
      offer: JSON.stringify(offer),
      relayURL: "",
      onAnswer: (answer) => {
        client.answer(answer).catch(() => {});
        return true;
      },
    });
    await client.opened;
    await client.waitForBytes(data.length);
    assert.ok(client.received.every((m) => m.length <= 1200), client.received.map((m) => m.length).join(","));
    assert.equal(await sha256Hex(client.bytes()), await sha256Hex(data));
    client.close();
  });
});

Deno.test("proxy: -outbound-address limits the answer's host candidates to that address", async () => {
  await withRig(async ({ broker, relay }) => {
    relay.behaviour = echo;
    const client = await connectClient(broker);
    await client.opened;
    const hosts = parseSessionDescription(broker.answers[0], "answer").sdp.split("\r\n").filter((line) =>
      line.startsWith("a=candidate:")
    )
      .map((line) => line.split(" ")[4]);
    assert.ok(hosts.length > 0);
    assert.deepEqual(hosts.filter((address) => address !== "127.0.0.1"), [], hosts.join(","));
    client.channel.send(new Uint8Array(1000));
    await client.waitForBytes(1000);
    client.close();
  }, { outboundAddress: "127.0.0.1" });
});
