/**
 * A carrier for real-time tests: two PacketConns joined by two Netem links
 * (tests/util/netem.ts: rate, latency, loss), driven by real timers instead
 * of a simulation. The near end reports `bufferedAmount` (its uplink's
 * bottleneck backlog, like a data channel's) and the far end offers
 * `drained(highWater)` (resolves once its downlink backlog is under
 * `highWater`, like a WebSocket writer waiting on bufferedAmount). `kill()`
 * cuts both ways and closes the far end, as a SIGKILLed proxy: the server's
 * WebSocket closes, while the client is not told (ICE has not noticed yet).
 */

import { AsyncQueue } from "../../lib/net/async_queue.ts";
import { ConnClosedError, type Packet, type PacketConn } from "../../lib/net/packet_conn.ts";
import { Netem, type NetemOptions } from "./netem.ts";

export type NetemLink = Omit<NetemOptions, "seed">;

/** One direction: a Netem, a timer for its next delivery, the receiving side's queue. */
class TimedLink {
  readonly #netem: Netem;
  readonly #deliver: (packet: Uint8Array) => void;
  readonly #bytesPerMs: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #busyUntil = -Infinity;
  #waiters: (() => void)[] = [];
  dead = false;

  constructor(options: NetemOptions, deliver: (packet: Uint8Array) => void) {
    this.#netem = new Netem(options);
    this.#bytesPerMs = options.bytesPerMs;
    this.#deliver = deliver;
  }

  /** Bytes waiting at the bottleneck. */
  backlog(): number {
    return this.#bytesPerMs ? Math.max(0, this.#busyUntil - performance.now()) * this.#bytesPerMs : 0;
  }

  send(packet: Uint8Array): void {
    if (this.dead) return;
    const now = performance.now();
    const lost = this.#netem.stats.lost;
    this.#netem.send(packet, now);
    if (this.#bytesPerMs && this.#netem.stats.lost === lost) {
      this.#busyUntil = Math.max(now, this.#busyUntil) + packet.length / this.#bytesPerMs;
    }
    this.#arm();
  }

  /** Resolves once the backlog is under `highWater` bytes. */
  async drained(highWater: number): Promise<void> {
    while (this.backlog() >= highWater && !this.dead) {
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, Math.max(1, (this.backlog() - highWater) / (this.#bytesPerMs ?? 1)));
      });
    }
  }

  stop(): void {
    this.dead = true;
    clearTimeout(this.#timer);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #arm(): void {
    const at = this.#netem.nextDelivery();
    if (at === Infinity || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      const now = performance.now();
      for (let p; (p = this.#netem.receive(now)) !== null;) if (!this.dead) this.#deliver(p);
      this.#arm();
    }, Math.max(0, at - performance.now()));
  }
}

export interface NetemCarrier extends PacketConn {
  readonly bufferedAmount: number;
}

export interface NetemServerEnd extends PacketConn {
  /** Resolves once the downlink's backlog is under `highWater` bytes. */
  drained(highWater: number): Promise<void>;
}

export interface NetemPacketPair {
  near: NetemCarrier;
  far: NetemServerEnd;
  /** Cuts both ways silently. */
  kill(): void;
  readonly killed: boolean;
}

/** A pair whose `up` link carries near → far and `down` far → near; queues hold `queueSize` packets each. */
export function netemPacketPair(
  seed: number,
  up: NetemLink,
  down: NetemLink,
  names: [string, string] = ["client", "server"],
  queueSize = 4096,
): NetemPacketPair {
  const nearQueue = new AsyncQueue<Packet>(queueSize);
  const farQueue = new AsyncQueue<Packet>(queueSize);
  const upLink = new TimedLink({ seed, ...up }, (packet) => farQueue.push({ packet, addr: names[0] }));
  const downLink = new TimedLink(
    { seed: seed + 1, ...down },
    (packet) => nearQueue.push({ packet, addr: names[1] }),
  );
  let nearClosed = false;
  let farClosed = false;
  const near: NetemCarrier = {
    get bufferedAmount() {
      return upLink.backlog();
    },
    readFrom: () => nearQueue.shift(),
    writeTo(packet) {
      if (nearClosed) throw new ConnClosedError("netem carrier");
      upLink.send(packet);
    },
    close() {
      if (nearClosed) return;
      nearClosed = true;
      nearQueue.close();
      upLink.stop();
    },
  };
  const far: NetemServerEnd = {
    readFrom: () => farQueue.shift(),
    writeTo(packet) {
      if (farClosed) throw new ConnClosedError("netem carrier (far end)");
      downLink.send(packet);
    },
    drained: (highWater) => downLink.drained(highWater),
    close() {
      if (farClosed) return;
      farClosed = true;
      farQueue.close();
      downLink.stop();
    },
  };
  return {
    near,
    far,
    kill() {
      upLink.stop();
      downLink.stop();
      far.close(); // the proxy's WebSocket to the server closes with it
    },
    get killed() {
      return upLink.dead;
    },
  };
}
