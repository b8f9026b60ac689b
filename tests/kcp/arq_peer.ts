/**
 * An Arq as a {@link SimPeer}, driven the way KcpSession drives it: writes go in
 * while kcp-go's WaitSnd gate is open and are flushed at once, input may flush
 * at once, and a timer replays kcp-go's update loop from flush's return value.
 * It writes `source` in seeded random chunk sizes and collects what it reads.
 */
import type { Arq } from "../../lib/kcp/arq.ts";
import { decodePacket } from "../../lib/kcp/segment.ts";
import { type Netem, Prng, type SimPeer } from "../util/netem.ts";

export class ArqPeer implements SimPeer {
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  /** Segments received, by cmd. */
  readonly commandsIn = new Map<number, number>();
  /** Whether the application reads (false: data piles up in the receive queue). */
  reading = true;
  #sent = 0;
  #timerAt = 0;
  #now = 0;
  readonly #random: Prng;
  readonly #out = (packet: Uint8Array) => this.link.send(packet, this.#now);

  constructor(
    readonly arq: Arq,
    /** Where its packets go: a Netem, or anything that routes them (a multipath simulation). */
    readonly link: Pick<Netem, "send">,
    readonly source: Uint8Array,
    seed: number,
    readonly maxSendBytes = 4 * 1024 * 1024,
  ) {
    this.#random = new Prng(seed);
  }

  get done(): boolean {
    return this.#sent === this.source.length;
  }

  pollTimeout(): number {
    return this.#timerAt;
  }

  handleTimeout(now: number): void {
    this.#now = now;
    this.#timerAt = Infinity;
    this.#write(now);
    const wake = this.arq.flush(now, this.#out);
    if (!this.arq.idle) this.#timerAt = wake;
  }

  handleInput(packet: Uint8Array, now: number): void {
    this.#now = now;
    for (const segment of decodePacket(packet)) {
      this.commandsIn.set(segment.cmd, (this.commandsIn.get(segment.cmd) ?? 0) + 1);
    }
    this.arq.input(packet, now);
    if (this.arq.flushNeeded) this.arq.flush(now, this.#out);
    if (this.reading) this.read();
    this.#write(now);
    if (this.#timerAt === Infinity && !this.arq.idle) this.#timerAt = now + this.arq.options.interval;
  }

  /** Reads everything ready (what the application does when `reading`). */
  read(): void {
    for (let data; (data = this.arq.read()) !== null;) {
      this.received.push(data.slice());
      this.receivedBytes += data.length;
    }
    if (this.#timerAt === Infinity && !this.arq.idle) this.#timerAt = this.#now + this.arq.options.interval;
  }

  #write(now: number): void {
    while (
      this.#sent < this.source.length && this.arq.sendWindowOpen && this.arq.sendBytes < this.maxSendBytes
    ) {
      const size = 1 + this.#random.below(this.#random.next() < 0.5 ? 100 : 40_000);
      const end = Math.min(this.source.length, this.#sent + size);
      this.arq.send(this.source.subarray(this.#sent, end));
      this.#sent = end;
      this.arq.flush(now, this.#out);
    }
  }
}
