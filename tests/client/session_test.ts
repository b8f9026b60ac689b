/**
 * ClientSession over in-process proxies (tests/client/fake_proxy.ts) to an
 * in-process bridge and a stand-in ORPort: bytes both ways intact (SHA-256),
 * a proxy that goes silent or closes mid-transfer is dropped with the right
 * reason and the next one carries on, a bad answer is survived, and with
 * max 2 both proxies carry and a lost one is replaced in the background.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ClientEvents, type ProxyLostDetail } from "../../lib/client/events.ts";
import { PADDING_MAX_BYTES, PADDING_MIN_BYTES } from "../../lib/client/carrier_set.ts";
import { ClientSession } from "../../lib/client/session.ts";
import { Logger, nullSink } from "../../lib/util/log.ts";
import { type ConnReader, writeAll } from "../pt/extorport_standin.ts";
import { randomBytes, startTestServer } from "../server/harness.ts";
import { fakeRendezvous } from "./fake_proxy.ts";

interface OrSide {
  received: Promise<string>;
}

/** A stand-in handler: sends `down`, reads `upLength` bytes, resolves with their SHA-256. */
function exchangeHandler(down: Uint8Array, upLength: number) {
  let resolve!: (hash: string) => void;
  const side: OrSide = { received: new Promise((r) => resolve = r) };
  const onData = async (conn: Deno.Conn, reader: ConnReader) => {
    const hash = createHash("sha256");
    let got = 0;
    await Promise.all([
      writeAll(conn, down),
      (async () => {
        while (got < upLength) {
          const chunk = await reader.readSome();
          if (!chunk) break;
          hash.update(chunk);
          got += chunk.length;
        }
      })(),
    ]);
    resolve(hash.digest("hex"));
    await reader.readSome();
  };
  return { side, onData };
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function setup(down: Uint8Array, upLength: number, max = 1, paddingIdleMs = 0) {
  const { side, onData } = exchangeHandler(down, upLength);
  const server = await startTestServer({ onData });
  const rendezvous = fakeRendezvous(server.url);
  const events = new ClientEvents();
  const lost: ProxyLostDetail[] = [];
  events.addEventListener("proxylost", (e) => lost.push(e.detail));
  const session = await ClientSession.open({
    max,
    paddingIdleMs,
    exchange: rendezvous.exchange,
    peer: { iceServers: [], keepLocalAddresses: true, includeLoopbackCandidates: true },
    events,
    logger: new Logger(nullSink),
  });
  return {
    side,
    server,
    rendezvous,
    events,
    lost,
    session,
    async close() {
      session.close();
      rendezvous.close();
      await server.close();
    },
  };
}

/** Writes `up` to the stream and reads `downLength` bytes; calls `onProgress(bytesDown)` after each chunk. */
async function transfer(
  session: ClientSession,
  up: Uint8Array,
  downLength: number,
  onProgress: (got: number) => void = () => {},
): Promise<string> {
  const hash = createHash("sha256");
  let got = 0;
  const writing = (async () => {
    for (let i = 0; i < up.length; i += 32 * 1024) await session.stream.write(up.slice(i, i + 32 * 1024));
  })();
  while (got < downLength) {
    const chunk = await session.stream.read();
    assert.ok(chunk, `stream ended after ${got} bytes`);
    hash.update(chunk);
    got += chunk.length;
    onProgress(got);
  }
  await writing;
  return hash.digest("hex");
}

Deno.test("client session: 4 MB each way through one proxy, intact; the offer names max-message-size", async () => {
  const up = randomBytes(4 << 20);
  const down = randomBytes(4 << 20);
  const t = await setup(down, up.length);
  try {
    assert.equal(await transfer(t.session, up, down.length), sha(down));
    assert.equal(await t.side.received, sha(up));
    assert.equal(t.rendezvous.proxies.length, 1);
    assert.match(t.rendezvous.proxies[0].offerSdp, /^a=max-message-size:65535\r$/m);
    assert.deepEqual(t.lost, []);
  } finally {
    await t.close();
  }
});

Deno.test("client session: a proxy that goes silent mid-transfer is dropped as 'silent' and the next carries on", async () => {
  const up = randomBytes(1 << 20);
  const down = randomBytes(6 << 20);
  const t = await setup(down, up.length);
  try {
    let frozen = false;
    const hash = await transfer(t.session, up, down.length, (got) => {
      if (!frozen && got > down.length / 3) {
        frozen = true;
        t.rendezvous.proxies[0].freeze();
      }
    });
    assert.equal(hash, sha(down));
    assert.equal(await t.side.received, sha(up));
    assert.ok(t.rendezvous.proxies.length >= 2);
    assert.equal(t.lost[0]?.reason, "silent", JSON.stringify(t.lost.map((e) => e.reason)));
    assert.equal(t.lost[0].carrying, true);
  } finally {
    await t.close();
  }
});

Deno.test("client session: a proxy that closes mid-transfer is dropped at once and the next carries on", async () => {
  const up = randomBytes(1 << 20);
  const down = randomBytes(6 << 20);
  const t = await setup(down, up.length);
  try {
    let closed = false;
    const hash = await transfer(t.session, up, down.length, (got) => {
      if (!closed && got > down.length / 3) {
        closed = true;
        t.rendezvous.proxies[0].close();
      }
    });
    assert.equal(hash, sha(down));
    assert.equal(await t.side.received, sha(up));
    // Noticed from the channel itself (its close, ICE, or pion refusing a send to it), not by the silence rule.
    const reason = t.lost[0]?.reason;
    assert.ok(
      ["data-channel-closed", "ice-failed", "ice-disconnected", "send-failed"].includes(String(reason)),
      String(reason),
    );
  } finally {
    await t.close();
  }
});

Deno.test("client session: a bad answer and a failing broker are survived; the session connects once proxies answer", async () => {
  const up = randomBytes(64 * 1024);
  const down = randomBytes(64 * 1024);
  const { side, onData } = exchangeHandler(down, up.length);
  const server = await startTestServer({ onData });
  const rendezvous = fakeRendezvous(server.url);
  rendezvous.answerOverride = '{"type":"answer","sdp":"v=0 garbage"}';
  const events = new ClientEvents();
  const failures: Error[] = [];
  events.addEventListener("rendezvousfailed", (e) => {
    failures.push(e.detail.error);
    if (failures.length === 1) {
      rendezvous.answerOverride = null;
      rendezvous.failWith = new Error("no snowflake proxies currently available");
    } else rendezvous.failWith = null;
  });
  const session = await ClientSession.open({
    max: 1,
    exchange: rendezvous.exchange,
    peer: { iceServers: [], keepLocalAddresses: true, includeLoopbackCandidates: true },
    events,
    logger: new Logger(nullSink),
  });
  try {
    assert.equal(await transfer(session, up, down.length), sha(down));
    assert.equal(await side.received, sha(up));
    assert.equal(failures.length, 2);
    assert.match(failures[0].message, /bad SDP answer/);
  } finally {
    session.close();
    rendezvous.close();
    await server.close();
  }
});

Deno.test("client session: with max 2 both proxies carry at once; one closing, the other carries on and a replacement joins", async () => {
  const up = randomBytes(1 << 20);
  const down = randomBytes(6 << 20);
  const t = await setup(down, up.length, 2);
  const ups: string[] = [];
  t.events.addEventListener("carrierup", (e) => ups.push(e.detail.proxyId));
  try {
    let killed = false;
    let carriedAtKill: number[] = [];
    const hash = await transfer(t.session, up, down.length, (got) => {
      if (!killed && got > down.length / 3 && t.rendezvous.proxies.length >= 2) {
        killed = true;
        carriedAtKill = t.rendezvous.proxies.map((p) => p.bytesDown);
        t.rendezvous.proxies[0].close();
      }
    });
    assert.equal(hash, sha(down));
    assert.equal(await t.side.received, sha(up));
    assert.ok(killed, "the second proxy was never collected");
    // Both carried downstream bytes before the kill (what the bridge sent each of the two).
    assert.ok(carriedAtKill[0] > 0 && carriedAtKill[1] > 0, JSON.stringify(carriedAtKill));
    const waitFor = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await waitFor(() => ups.length >= 3);
    assert.ok(ups.length >= 3, `a replacement carries: ${ups.length} carriers up`);
    assert.equal(t.lost[0]?.carrying, true);
  } finally {
    await t.close();
  }
});

Deno.test("client session: with max 2 a frozen proxy is dropped as 'undelivered' while the other delivers", async () => {
  const up = randomBytes(1 << 20);
  const down = randomBytes(6 << 20);
  const t = await setup(down, up.length, 2);
  try {
    let frozen = false;
    const hash = await transfer(t.session, up, down.length, (got) => {
      if (!frozen && got > down.length / 3 && t.rendezvous.proxies.length >= 2) {
        frozen = true;
        // The busier of the two stops relaying without a word, as a SIGKILLed proxy behind a NAT.
        const [a, b] = t.rendezvous.proxies;
        (a.bytesDown >= b.bytesDown ? a : b).freeze();
      }
    });
    assert.equal(hash, sha(down));
    assert.equal(await t.side.received, sha(up));
    assert.ok(frozen, "the second proxy was never collected");
    assert.equal(t.lost[0]?.reason, "undelivered", JSON.stringify(t.lost));
  } finally {
    await t.close();
  }
});

Deno.test("client session: a proxy that sends garbage is dropped as 'bad-input' and the next one carries the session", async () => {
  const up = randomBytes(64 * 1024);
  const down = randomBytes(256 * 1024);
  const { side, onData } = exchangeHandler(down, up.length);
  const server = await startTestServer({ onData });
  const rendezvous = fakeRendezvous(server.url);
  // A length prefix with the continuation bit set three times: not an encapsulation chunk.
  rendezvous.garbage = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x00, 0x01]);
  const events = new ClientEvents();
  const lost: ProxyLostDetail[] = [];
  events.addEventListener("proxylost", (e) => lost.push(e.detail));
  const session = await ClientSession.open({
    max: 1,
    exchange: rendezvous.exchange,
    peer: { iceServers: [], keepLocalAddresses: true, includeLoopbackCandidates: true },
    events,
    logger: new Logger(nullSink),
  });
  try {
    assert.equal(await transfer(session, up, down.length), sha(down));
    assert.equal(await side.received, sha(up));
    assert.equal(lost[0]?.reason, "bad-input", JSON.stringify(lost));
    assert.equal(rendezvous.proxies.length, 2);
  } finally {
    session.close();
    rendezvous.close();
    await server.close();
  }
});

Deno.test("client session: with padding, a padding chunk follows the ClientID and idle proxies send padding; the bridge skips it all", async () => {
  const up = randomBytes(256 * 1024);
  const down = randomBytes(1 << 20);
  const t = await setup(down, up.length, 1, 50);
  try {
    assert.equal(await transfer(t.session, up, down.length), sha(down));
    assert.equal(await t.side.received, sha(up), "the bridge skipped the padding: the upload is intact");
    const proxy = t.rendezvous.proxies[0];
    const first = proxy.firstUp!;
    // Token (8) and ClientID (8), then PADDING_MIN_BYTES–PADDING_MAX_BYTES of padding chunks (prefix bit d = 0).
    assert.ok(
      first.length >= 16 + PADDING_MIN_BYTES && first.length <= 16 + PADDING_MAX_BYTES,
      `${first.length}`,
    );
    assert.equal(first[16] & 0x80, 0, "a padding chunk, not data");
    const before = proxy.bytesUp;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const idle = proxy.bytesUp - before;
    // One chunk per 50 ms idle: ~20 in a second; the session's own traffic in an idle second is a few ACKs at most.
    assert.ok(idle >= 8 * PADDING_MIN_BYTES, `only ${idle} bytes went up in an idle second`);
    assert.ok(idle <= 25 * (PADDING_MAX_BYTES + 64), `${idle} bytes went up in an idle second`);
    assert.deepEqual(t.lost, []);
  } finally {
    await t.close();
  }
});

Deno.test("client session: without padding (the default), the first message is token and ClientID only, and idle is quiet", async () => {
  const up = randomBytes(64 * 1024);
  const down = randomBytes(256 * 1024);
  const t = await setup(down, up.length);
  try {
    assert.equal(await transfer(t.session, up, down.length), sha(down));
    const proxy = t.rendezvous.proxies[0];
    assert.equal(proxy.firstUp!.length, 16);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the last ACKs
    const before = proxy.bytesUp;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.ok(
      proxy.bytesUp - before < PADDING_MIN_BYTES * 4,
      `${proxy.bytesUp - before} bytes in an idle second`,
    );
  } finally {
    await t.close();
  }
});
