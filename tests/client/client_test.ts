/**
 * startClient's SOCKS side in this process (no proxies: the rendezvous goes
 * nowhere, every address is loopback): PT arguments from the SOCKS
 * credentials, bad bridge lines refused with a SOCKS reply, parameters we do
 * not implement reported once, malformed SOCKS survived, stop() orderly.
 */

import assert from "node:assert/strict";
import { type Client, startClient } from "../../lib/client/client.ts";
import type { ClientSessionOpenedDetail, SocksRejectedDetail } from "../../lib/client/events.ts";
import { ConnReader, writeAll } from "../pt/extorport_standin.ts";

/** A loopback port with nothing listening (the rendezvous and STUN fail fast, locally). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const DEAD = closedPort();
const BASE = {
  brokerUrl: "",
  fronts: [],
  iceServers: [`stun:127.0.0.1:${DEAD}`],
  max: 1,
};

/** SOCKS5 with username/password `args`; resolves with the CONNECT reply code (or null if the conn closed first). */
async function socksRequest(client: Client, args: string): Promise<{ code: number | null; conn: Deno.Conn }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: client.socksAddr.port });
  const reader = new ConnReader(conn);
  await writeAll(conn, new Uint8Array([5, 1, 2]));
  await reader.readExact(2);
  const bytes = new TextEncoder().encode(args);
  const user = bytes.subarray(0, 255);
  const pass = bytes.length > 255 ? bytes.subarray(255) : new Uint8Array([0]);
  await writeAll(conn, new Uint8Array([1, user.length, ...user, pass.length, ...pass]));
  const auth = await reader.readExact(2);
  if (!auth || auth[1] !== 0) return { code: null, conn };
  await writeAll(conn, new Uint8Array([5, 1, 0, 1, 192, 0, 2, 3, 0, 1]));
  const reply = await reader.readExact(10);
  return { code: reply ? reply[1] : null, conn };
}

function collect<T>(client: Client, type: "sessionopened" | "socksrejected"): T[] {
  const seen: T[] = [];
  client.events.addEventListener(type, (e) => seen.push((e as CustomEvent<T>).detail));
  return seen;
}

Deno.test("client: a bridge line without a broker URL, or with a bad max, is refused with SOCKS general failure", async () => {
  const client = await startClient({ transport: BASE });
  const rejected = collect<SocksRejectedDetail>(client, "socksrejected");
  try {
    const noUrl = await socksRequest(client, `ice=stun:127.0.0.1:${DEAD}`);
    assert.equal(noUrl.code, 1);
    noUrl.conn.close();
    const badMax = await socksRequest(client, `url=http://127.0.0.1:${DEAD}/;max=lots`);
    assert.equal(badMax.code, 1);
    badMax.conn.close();
    assert.equal(rejected.length, 2);
    assert.match(rejected[0].reason, /broker URL/);
    assert.match(rejected[1].reason, /max/);
    assert.equal(client.stats().socksRejected, 2);
  } finally {
    await client.stop();
  }
});

Deno.test("client: a good bridge line is granted at once and opens a session; unsupported parameters are reported once each", async () => {
  const reports: string[] = [];
  const client = await startClient({ transport: BASE, onUnsupported: (name) => reports.push(name) });
  const opened = collect<ClientSessionOpenedDetail>(client, "sessionopened");
  try {
    const line = `url=http://127.0.0.1:${DEAD}/;fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72;` +
      `utls-imitate=hellorandomizedalpn;max=2`;
    const first = await socksRequest(client, line);
    assert.equal(first.code, 0, "granted before any proxy is found, as Go does");
    const second = await socksRequest(client, line);
    assert.equal(second.code, 0);
    for (let i = 0; i < 100 && opened.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(opened.length, 2);
    assert.notEqual(opened[0].sessionId, opened[1].sessionId, "a ClientID per SOCKS connection");
    assert.deepEqual(reports, ["utls-imitate"]);
    first.conn.close();
    second.conn.close();
  } finally {
    await client.stop();
  }
});

Deno.test("client: malformed SOCKS (version 4, garbage, early close) is refused and the listener goes on", async () => {
  const client = await startClient({ transport: { ...BASE, brokerUrl: `http://127.0.0.1:${DEAD}/` } });
  const rejected = collect<SocksRejectedDetail>(client, "socksrejected");
  try {
    for (const bytes of [[4, 1, 0, 80, 127, 0, 0, 1, 0], [0xff, 0xff, 0xff], []]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: client.socksAddr.port });
      if (bytes.length) await writeAll(conn, new Uint8Array(bytes));
      if (bytes.length === 0) conn.close();
      else {
        await new ConnReader(conn).readSome(); // the reply, or EOF
        conn.close();
      }
    }
    for (let i = 0; i < 200 && rejected.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rejected.length, 3, JSON.stringify(rejected.map((e) => e.reason)));
    const ok = await socksRequest(client, `ice=stun:127.0.0.1:${DEAD}`);
    assert.equal(ok.code, 0, "still serving");
    ok.conn.close();
  } finally {
    await client.stop();
  }
});
