/** ProxyPool with stand-in peers: how many proxies it holds, replaces, retries and hands out. */

import assert from "node:assert/strict";
import type { ProxyLostReason } from "../../lib/client/events.ts";
import type { ProxyPeer } from "../../lib/client/proxy_peer.ts";
import { ProxyPool } from "../../lib/client/proxy_pool.ts";

/** The part of a ProxyPeer the pool uses. */
function fakePeer(id: string): ProxyPeer {
  let reason: ProxyLostReason | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => resolveClosed = resolve);
  return {
    id,
    conn: { closed } as ProxyPeer["conn"],
    get lostReason() {
      return reason;
    },
    get isClosed() {
      return reason !== null;
    },
    close(why: ProxyLostReason = "closed") {
      if (reason !== null) return;
      reason = why;
      resolveClosed();
    },
  } as ProxyPeer;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

Deno.test("proxy pool: max 1 holds one proxy, and collects the next as soon as it is lost", async () => {
  const peers: ProxyPeer[] = [];
  const lost: [string, ProxyLostReason, boolean][] = [];
  const pool = new ProxyPool(() => {
    const peer = fakePeer(`p${peers.length}`);
    peers.push(peer);
    return Promise.resolve(peer);
  }, { max: 1, onLost: (peer, reason, carrying) => lost.push([peer.id, reason, carrying]) });
  const signal = new AbortController().signal;
  const first = await pool.pop(signal);
  await tick();
  assert.equal(peers.length, 1, "no spare with max 1");
  const next = pool.pop(signal);
  first.close("silent");
  assert.equal((await next).id, "p1");
  assert.deepEqual(lost, [["p0", "silent", true]]);
  pool.close();
  assert.equal(peers[1].lostReason, "closed");
});

Deno.test("proxy pool: max 3 keeps two spares beside the carrying one; a pop takes a spare at once", async () => {
  let n = 0;
  const pool = new ProxyPool(() => Promise.resolve(fakePeer(`p${n++}`)), { max: 3 });
  const signal = new AbortController().signal;
  const carrying = await pool.pop(signal);
  await tick();
  assert.equal(pool.spares, 2);
  assert.equal(n, 3);
  carrying.close("data-channel-closed");
  const next = await pool.pop(signal);
  assert.equal(next.id, "p1");
  await tick();
  assert.equal(pool.spares, 2, "refilled to max");
  pool.close();
});

Deno.test("proxy pool: failed collections are retried with a doubling delay; a success resets it", async () => {
  const failures: number[] = [];
  let calls = 0;
  const pool = new ProxyPool(() => {
    calls++;
    return calls <= 3 ? Promise.reject(new Error("no proxies")) : Promise.resolve(fakePeer(`p${calls}`));
  }, {
    max: 1,
    retryMinMs: 10,
    retryMaxMs: 25,
    onCollectFailed: (_e, retryInMs) => failures.push(retryInMs),
  });
  const peer = await pool.pop(new AbortController().signal);
  assert.equal(peer.id, "p4");
  assert.deepEqual(failures, [10, 20, 25]);
  pool.close();
});

Deno.test("proxy pool: a spare older than spareMaxAgeMs is replaced; pop never returns a closed spare", async () => {
  let n = 0;
  const reasons: ProxyLostReason[] = [];
  const pool = new ProxyPool(() => Promise.resolve(fakePeer(`p${n++}`)), {
    max: 2,
    spareMaxAgeMs: 30,
    onLost: (_peer, reason) => reasons.push(reason),
  });
  const signal = new AbortController().signal;
  await pool.pop(signal);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.ok(reasons.includes("stale-spare"), JSON.stringify(reasons));
  const spare = await pool.pop(signal);
  assert.equal(spare.isClosed, false);
  pool.close();
});

Deno.test("proxy pool: pop rejects once the pool is closed or the signal aborts", async () => {
  const pool = new ProxyPool(() => new Promise<ProxyPeer>(() => {}), { max: 1 });
  const abort = new AbortController();
  const waiting = pool.pop(abort.signal);
  abort.abort(new Error("session closed"));
  await assert.rejects(waiting, /session closed/);
  pool.close();
  await assert.rejects(pool.pop(new AbortController().signal), /closed/);
});

Deno.test("proxy pool: collections run side by side: a broker slow to answer one does not hold back the next", async () => {
  let n = 0;
  const pool = new ProxyPool((signal) => {
    const peer = fakePeer(`p${n++}`);
    if (peer.id !== "p0") return Promise.resolve(peer);
    // The first rendezvous hangs until the pool closes (a broker that never answers).
    return new Promise((_, reject) => {
      signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
    });
  }, { max: 2 });
  const signal = new AbortController().signal;
  const [first, second] = [pool.pop(signal), pool.pop(signal)];
  assert.equal((await first).id, "p1", "the second collection answered while the first hung");
  const lost = await first;
  lost.close("undelivered"); // the carrying one dies: its replacement is collected at once, beside the hung one
  assert.equal((await second).id, "p2");
  assert.equal(n, 3, "never more than max (2) held or being collected");
  pool.close();
});
