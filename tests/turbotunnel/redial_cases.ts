/**
 * RedialPacketConn's behaviour as cases that run against every conn with its
 * semantics: RedialPacketConn itself, and MultiplexingPacketConn with max 1.
 * Usage: `runRedialCases("RedialPacketConn", (dial, options) => new RedialPacketConn(dial, options))`.
 */

import assert from "node:assert/strict";
import { AsyncQueue } from "../../lib/net/async_queue.ts";
import { memoryPacketPair } from "../support/memory.ts";
import { ConnClosedError, type PacketConn } from "../../lib/net/packet_conn.ts";
import type { RedialPacketConnEventMap } from "../../lib/turbotunnel/redial_events.ts";
import type { DialCarrier, RedialPacketConnOptions } from "../../lib/turbotunnel/redial_packet_conn.ts";
import { ManualClock } from "../../lib/util/clock.ts";
import { runPacketConnCases } from "../net/packet_conn_cases.ts";

/** What the cases use of RedialPacketConn's API. */
export interface RedialLike extends PacketConn {
  readonly closed: Promise<Error | null>;
  readonly error: Error | null;
  readonly dials: number;
  readonly droppedSend: number;
  readonly droppedReceive: number;
  addEventListener<K extends keyof RedialPacketConnEventMap>(
    type: K,
    listener: (event: RedialPacketConnEventMap[K]) => void,
  ): void;
}
export type MakeRedialLike = (dial: DialCarrier, options?: RedialPacketConnOptions) => RedialLike;

export function runRedialCases(name: string, make: MakeRedialLike): void {
  const test = (title: string, body: () => Promise<void>) => Deno.test(`${name}: ${title}`, body);

  runPacketConnCases({
    name: `${name} over memory carriers`,
    makePair: () => {
      const [near, far] = memoryPacketPair(64, ["client", "server"]);
      let dialed = false;
      const a = make(() => {
        if (dialed) return Promise.reject(new Error("this pair has one carrier"));
        dialed = true;
        return Promise.resolve(near);
      }, { queueSize: 64, remoteAddr: "server" });
      // Send queue (64) + the carrier's queue (64).
      return { a, b: far, aAddr: "client", bAddr: "server", capacity: 128 };
    },
  });

  const packet = (n: number) => new Uint8Array([n >> 8, n & 0xff]);
  const seq = (p: Uint8Array) => (p[0] << 8) | p[1];
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

  /** Carriers as memory pairs: the test gets each far end (the "server") and near end (to kill it). */
  function carrierFactory() {
    const carriers = new AsyncQueue<{ near: PacketConn; far: PacketConn }>(16);
    const gates: (() => Promise<void>)[] = []; // what each dial waits for (or throws) first
    const dial = async () => {
      await gates.shift()?.();
      const [near, far] = memoryPacketPair(1024, ["client", "server"]);
      carriers.push({ near, far });
      return near;
    };
    return { carriers, gates, dial };
  }

  /** Events of `conn` as short strings, in order. */
  function recordEvents(conn: RedialLike): string[] {
    const events: string[] = [];
    conn.addEventListener("carrierup", (e) => events.push(`up ${e.attempt}`));
    conn.addEventListener("carrierdown", (e) => events.push(`down ${e.attempt}: ${e.reason.message}`));
    conn.addEventListener("redial", (e) => events.push(`redial ${e.attempt}`));
    conn.addEventListener("close", (e) => events.push(`close ${e.error?.message ?? "null"}`));
    return events;
  }

  test("a carrier killed mid-stream; packets written meanwhile go out on the next", async () => {
    const { carriers, gates, dial } = carrierFactory();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => openGate = resolve);
    gates.push(() => Promise.resolve(), () => gate);
    const conn = make(dial, { remoteAddr: "server" });
    const events = recordEvents(conn);

    const first = (await carriers.shift())!;
    for (let i = 0; i < 100; i++) conn.writeTo(packet(i), "ignored");
    for (let i = 0; i < 100; i++) assert.equal(seq((await first.far.readFrom())!.packet), i);
    first.far.writeTo(packet(1000), "client");
    assert.deepEqual(await conn.readFrom(), { packet: packet(1000), addr: "server" });

    first.near.close(); // the data channel dies
    await tick();
    for (let i = 100; i < 200; i++) conn.writeTo(packet(i), "ignored"); // while the redial is pending
    openGate();
    const second = (await carriers.shift())!;
    for (let i = 100; i < 200; i++) {
      assert.equal(seq((await second.far.readFrom())!.packet), i, "kept, in order");
    }
    second.far.writeTo(packet(2000), "client");
    assert.deepEqual(await conn.readFrom(), { packet: packet(2000), addr: "server" });
    assert.equal(conn.droppedSend, 0);
    assert.equal(conn.dials, 2);

    conn.close();
    assert.deepEqual(events, [
      "up 0",
      "down 0: carrier closed (its readFrom returned null)",
      "redial 1",
      "up 1",
      "close null",
    ]);
    assert.equal(await conn.closed, null);
    second.far.close();
    first.far.close();
  });

  test("a packet refused by a closed carrier is sent on the next one", async () => {
    const [near, far] = memoryPacketPair(16, ["client", "server"]);
    let dials = 0;
    const deadOnWrite: PacketConn = {
      readFrom: () => new Promise(() => {}), // never ends by itself
      writeTo() {
        throw new ConnClosedError("dead carrier");
      },
      close() {},
    };
    const conn = make(() => Promise.resolve(dials++ === 0 ? deadOnWrite : near));
    const events = recordEvents(conn);
    conn.writeTo(packet(7), "x");
    assert.equal(seq((await far.readFrom())!.packet), 7);
    assert.deepEqual(events.slice(0, 2), ["up 0", "down 0: operation on closed dead carrier"]);
    conn.close();
    far.close();
  });

  test("a failing dial closes it for good with that error", async () => {
    const { carriers, gates, dial } = carrierFactory();
    const failure = new Error("handler: Received invalid Snowflake");
    gates.push(() => Promise.resolve(), () => Promise.reject(failure));
    const conn = make(dial);
    const events = recordEvents(conn);
    const first = (await carriers.shift())!;
    const reading = conn.readFrom();
    first.near.close();
    assert.equal(await conn.closed, failure);
    assert.equal(conn.error, failure);
    assert.equal(await reading, null);
    assert.equal(await conn.readFrom(), null);
    assert.throws(
      () => conn.writeTo(packet(1), "x"),
      (e) => e instanceof ConnClosedError && e.cause === failure,
    );
    assert.deepEqual(events, [
      "up 0",
      "down 0: carrier closed (its readFrom returned null)",
      "redial 1",
      `close ${failure.message}`,
    ]);
    conn.close(); // idempotent: no second close event
    assert.equal(events.length, 4);
    first.far.close();
  });

  test("the first dial failing closes it too", async () => {
    const conn = make(() => Promise.reject(new Error("no broker")));
    assert.equal((await conn.closed)?.message, "no broker");
    assert.equal(await conn.readFrom(), null);
  });

  test("full queues drop and count", async () => {
    const { carriers, gates, dial } = carrierFactory();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => openGate = resolve);
    gates.push(() => gate);
    const conn = make(dial, { queueSize: 8 });
    for (let i = 0; i < 20; i++) conn.writeTo(packet(i), "x"); // no carrier yet
    assert.equal(conn.droppedSend, 12);
    openGate();
    const { far } = (await carriers.shift())!;
    for (let i = 0; i < 8; i++) assert.equal(seq((await far.readFrom())!.packet), i);

    for (let i = 0; i < 20; i++) far.writeTo(packet(i), "client"); // nobody reads conn
    for (let i = 0; i < 1000 && conn.droppedReceive < 12; i++) await tick();
    assert.equal(conn.droppedReceive, 12);
    for (let i = 0; i < 8; i++) assert.equal(seq((await conn.readFrom())!.packet), i);
    conn.close();
    far.close();
  });

  test("close during a dial aborts it and closes the late carrier", async () => {
    let signal!: AbortSignal;
    let resolveDial!: (carrier: PacketConn) => void;
    const conn = make((s) => {
      signal = s;
      return new Promise((resolve) => resolveDial = resolve);
    });
    await tick();
    conn.close();
    assert.equal(signal.aborted, true);
    const [near, far] = memoryPacketPair();
    resolveDial(near);
    await tick();
    assert.throws(() => near.writeTo(packet(1), "x"), ConnClosedError, "the late carrier was closed");
    far.close();
  });

  test("redials are at least minRedialIntervalMs apart (fake clock)", async () => {
    const clock = new ManualClock();
    const waits: number[] = [];
    const deadCarrier: PacketConn = { readFrom: () => Promise.resolve(null), writeTo() {}, close() {} };
    let dialMs = 30;
    let dials = 0;
    const conn = make(() => {
      if (++dials > 6) return Promise.reject(new Error("enough"));
      clock.advance(dialMs); // the dial takes this long; the carrier then dies at once
      if (dials === 3) dialMs = 150;
      return Promise.resolve(deadCarrier);
    }, {
      minRedialIntervalMs: 100,
      clock,
      sleep: (ms) => {
        waits.push(ms);
        clock.advance(ms);
        return Promise.resolve();
      },
    });
    await conn.closed;
    // Dials 1–3 take 30 ms, so each redial waits the other 70; dials 4–6 take 150 ms: no wait.
    assert.deepEqual(waits, [70, 70, 70, 0, 0, 0]);
  });

  test("carriers that die at once do not starve the event loop (default interval 0)", async () => {
    const deadCarrier: PacketConn = { readFrom: () => Promise.resolve(null), writeTo() {}, close() {} };
    let dials = 0;
    let dialsWhenTimerRan = -1;
    setTimeout(() => dialsWhenTimerRan = dials, 0);
    const conn = make(() => {
      if (++dials > 50) return Promise.reject(new Error("enough"));
      return Promise.resolve(deadCarrier);
    });
    await conn.closed;
    assert.ok(
      dialsWhenTimerRan >= 1 && dialsWhenTimerRan < 50,
      `the timer ran after dial ${dialsWhenTimerRan}`,
    );
  });
}
