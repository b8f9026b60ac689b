/**
 * Back-pressure toward the relay (lib/proxy/relay_connection.ts): a client
 * slower than the relay (here the bandwidth cap) pauses the proxy's reads, so
 * the relay's sends pile up on its side (its TCP send buffer fills and its
 * WebSocket's `bufferedAmount` grows) instead of the proxy's queue growing
 * to "queue overflow"; every byte arrives, in order. And the plain-WebSocket
 * fallback (no pausing) still relays both ways.
 */

import assert from "node:assert/strict";
import {
  connectClient,
  echo,
  nextClientClosed,
  ScriptedBroker,
  startRigProxy,
  TestRelay,
} from "./loopback_rig.ts";
import { randomBytes, sha256Hex } from "../server/harness.ts";
import { openRelayConnection, SocketRelayConnection } from "../../lib/proxy/relay_connection.ts";
import type { RelayConnectionFactory } from "../../lib/proxy/runtime.ts";
import { DEFAULT_FLOW } from "../../lib/proxy/config.ts";

Deno.test("proxy back-pressure: a capped client pauses relay reads; the relay's sends wait, no overflow, bytes intact", async () => {
  const size = 10 * 1024 * 1024;
  const data = randomBytes(size);
  const broker = new ScriptedBroker();
  const relay = new TestRelay();
  let socket: WebSocket | undefined;
  relay.behaviour = (s) => {
    socket = s;
    for (let i = 0; i < size; i += 16_384) s.send(data.subarray(i, i + 16_384));
  };
  // Counts what the proxy read from the relay, and its pauses.
  let read = 0;
  let pauses = 0;
  const openRelay: RelayConnectionFactory = (url, handlers) => {
    const connection = openRelayConnection(url, {
      ...handlers,
      onMessage: (bytes) => {
        read += bytes.length;
        handlers.onMessage(bytes);
      },
    });
    const pause = connection.pause.bind(connection);
    connection.pause = () => {
      pauses++;
      pause();
    };
    return connection;
  };
  const proxy = startRigProxy(broker, relay, { bandwidthCapBytesPerSecond: 2_000_000, openRelay });
  try {
    const client = await connectClient(broker);
    await client.opened;
    let maxHeld = 0;
    let relayWaitingAtOneMiB = -1;
    let readAtOneMiB = -1;
    while (client.receivedBytes < size && client.channel.readyState === "open") {
      await new Promise((resolve) => setTimeout(resolve, 20));
      maxHeld = Math.max(maxHeld, read - client.receivedBytes);
      if (relayWaitingAtOneMiB < 0 && client.receivedBytes >= 1024 * 1024) {
        relayWaitingAtOneMiB = socket!.bufferedAmount;
        readAtOneMiB = read;
      }
    }
    assert.equal(client.receivedBytes, size, "the client was closed before the end");
    assert.equal(await sha256Hex(client.bytes()), await sha256Hex(data));
    assert.ok(pauses > 0, "reads never paused");
    // Read and not yet received: the proxy's queue (≤ the pause mark and one message), the data channel's
    // buffer (≤ its high-water mark) and SCTP in flight (≤ pion's 1 MiB receive window). Without pausing the
    // proxy reads all 10 MiB at once and closes the client past maxQueuedBytes (4 MiB).
    const bound = DEFAULT_FLOW.relayPauseBytes + DEFAULT_FLOW.dataChannelHighWaterBytes + 1024 * 1024 +
      65_536;
    assert.ok(maxHeld <= bound, `the proxy held ${maxHeld} bytes (bound ${bound})`);
    // 10 MiB sent at once, 1 MiB delivered: the proxy had read little more, the rest waited in the sockets'
    // buffers and at the relay itself, whose sends TCP held back (how it splits depends on the kernel's buffers).
    assert.ok(readAtOneMiB <= 1024 * 1024 + bound, `the proxy had read ${readAtOneMiB} bytes`);
    assert.ok(relayWaitingAtOneMiB > 0, `relay bufferedAmount ${relayWaitingAtOneMiB}`);
    const closed = nextClientClosed(proxy);
    client.close();
    assert.equal((await closed).reason, "client closed");
  } finally {
    await proxy.stop();
    await relay.close();
  }
});

Deno.test("proxy back-pressure: the plain WebSocket fallback relays both ways", async () => {
  const broker = new ScriptedBroker();
  const relay = new TestRelay();
  const big = randomBytes(300_000);
  relay.behaviour = (socket, request) => {
    echo(socket, request);
    socket.send(big);
  };
  const proxy = startRigProxy(broker, relay, { openRelay: (url, h) => new SocketRelayConnection(url, h) });
  try {
    const client = await connectClient(broker);
    await client.opened;
    const up = randomBytes(200_000);
    for (let i = 0; i < up.length; i += 1000) client.channel.send(up.subarray(i, i + 1000));
    await client.waitForBytes(big.length + up.length);
    assert.equal(await sha256Hex(client.bytes().subarray(0, big.length)), await sha256Hex(big));
    assert.equal(await sha256Hex(client.bytes().subarray(big.length)), await sha256Hex(up));
    const closed = nextClientClosed(proxy);
    relay.sockets[0].close();
    assert.equal((await closed).reason, "relay closed");
    assert.equal(proxy.stats().clients, 0);
  } finally {
    await proxy.stop();
    await relay.close();
  }
});
