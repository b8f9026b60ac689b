/**
 * An Arq as a {@link SimPeer}, driven the way KcpSession drives it, through the
 * machine's verbs: each step sends what the machine has (the flush input asked
 * for), reads everything ready, writes while kcp-go's WaitSnd gate is open
 * (each write flushed at once); handleTimeout only when pollTimeout has come
 * (kcp-go's update loop). It writes `source` in seeded random chunk sizes and
 * collects what it reads.
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
  #started = false;
  readonly #random: Prng;

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

  /** 0 until the first step (which starts the writes), then the machine's. */
  pollTimeout(): number {
    return this.#started ? this.arq.pollTimeout() : 0;
  }

  handleTimeout(now: number): void {
    if (this.#started && this.arq.pollTimeout() <= now) this.arq.handleTimeout(now);
    this.#started = true;
    this.#service(now);
  }

  handleInput(packet: Uint8Array, now: number): void {
    for (const segment of decodePacket(packet)) {
      this.commandsIn.set(segment.cmd, (this.commandsIn.get(segment.cmd) ?? 0) + 1);
    }
    this.arq.handleInput(now, packet);
    this.#service(now);
  }

  /** Reads everything ready (what the application does when `reading`). */
  read(): void {
    for (let data; (data = this.arq.read()) !== null;) {
      this.received.push(data.slice());
      this.receivedBytes += data.length;
    }
  }

  /** One pass of KcpSession's loop: packets out (input's flush), reads, writes each flushed at once. */
  #service(now: number): void {
    this.#transmit(now);
    if (this.reading) this.read();
    while (
      this.#sent < this.source.length && this.arq.sendWindowOpen && this.arq.sendBytes < this.maxSendBytes
    ) {
      const size = 1 + this.#random.below(this.#random.next() < 0.5 ? 100 : 40_000);
      const end = Math.min(this.source.length, this.#sent + size);
      this.arq.send(this.source.subarray(this.#sent, end), now);
      this.#sent = end;
      this.#transmit(now);
    }
  }

  #transmit(now: number): void {
    for (let packet = this.arq.pollTransmit(); packet !== null; packet = this.arq.pollTransmit()) {
      this.link.send(packet, now);
    }
  }
}
