/**
 * Test rig for the proxy library on one host: a scripted broker (a request
 * handler behind the proxy's injected fetch), test clients on our WebRTC
 * binding with loopback candidates, and a relay (a WebSocket server on
 * 127.0.0.1) whose behaviour each test picks. The proxy under test is
 * `startProxy` in this process, configured by {@link startRigProxy}.
 */

import { RTCPeerConnection, waitForIceGatheringComplete } from "../../lib/webrtc/mod.ts";
import type { RTCDataChannel } from "../../lib/webrtc/mod.ts";
import { decodeProxyAnswerRequest, encodeProxyAnswerResponse } from "../../lib/messages/proxy_answer.ts";
import {
  clientMatchResponse,
  decodeProxyPollRequest,
  encodeProxyPollResponse,
  noClientResponse,
  type ProxyPollRequest,
} from "../../lib/messages/proxy_poll.ts";
import {
  parseSessionDescription,
  serializeSessionDescription,
} from "../../lib/messages/session_description.ts";
import { type ProxyHandle, startProxy } from "../../lib/proxy/proxy.ts";
import type { ProxyConfig } from "../../lib/proxy/config.ts";
import type { ClientClosedDetail } from "../../lib/proxy/events.ts";

/** What the broker hands the next poll. */
interface QueuedOffer {
  offer: string;
  relayURL: string;
  /** Gets the proxy's answer; returns what the broker replies (true: success). */
  onAnswer: (answer: string) => boolean;
}

/** A broker in a handler: polls wait up to `holdMs` for a queued offer. */
export class ScriptedBroker {
  readonly polls: ProxyPollRequest[] = [];
  readonly answers: string[] = [];
  /** When set, replaces the poll reply (junk, errors). */
  pollReply: ((request: Request) => Response) | undefined;
  #offers: QueuedOffer[] = [];
  #waiting: ((offer: QueuedOffer | undefined) => void)[] = [];
  #pollListeners: (() => void)[] = [];
  #bySid = new Map<string, QueuedOffer>();
  #held = 0;

  constructor(readonly holdMs = 3_000) {}

  /** Polls being held now. */
  get heldPolls(): number {
    return this.#held;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === "/proxy") return await this.#poll(request);
    if (path === "/answer") {
      const answer = decodeProxyAnswerRequest(await request.text());
      this.answers.push(answer.answer);
      const queued = this.#bySid.get(answer.sid);
      this.#bySid.delete(answer.sid);
      return new Response(encodeProxyAnswerResponse(queued ? queued.onAnswer(answer.answer) : false));
    }
    return new Response("not found", { status: 404 });
  };

  /** Hands `offer` to the next poll (or the one being held). */
  queue(offer: QueuedOffer): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(offer);
    else this.#offers.push(offer);
  }

  /** Resolves when the next poll arrives (the count is `polls.length`). */
  nextPoll(): Promise<void> {
    return new Promise((resolve) => this.#pollListeners.push(resolve));
  }

  async #poll(request: Request): Promise<Response> {
    const body = await request.text();
    this.polls.push(decodeProxyPollRequest(body));
    for (const listener of this.#pollListeners.splice(0)) listener();
    if (this.pollReply) return this.pollReply(request);
    let offer = this.#offers.shift();
    if (!offer) {
      this.#held++;
      offer = await new Promise<QueuedOffer | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(done), 1);
          resolve(undefined);
        }, this.holdMs);
        const done = (o: QueuedOffer | undefined) => {
          clearTimeout(timer);
          resolve(o);
        };
        this.#waiting.push(done);
        request.signal.addEventListener("abort", () => done(undefined));
      });
      this.#held--;
    }
    if (!offer) return new Response(encodeProxyPollResponse(noClientResponse()));
    this.#bySid.set(this.polls.at(-1)!.sid, offer);
    return new Response(encodeProxyPollResponse(clientMatchResponse(offer.offer, "unknown", offer.relayURL)));
  }
}

/** A Snowflake client's WebRTC side, on loopback. */
export class TestClient {
  readonly pc = new RTCPeerConnection({ includeLoopbackCandidates: true });
  readonly channel: RTCDataChannel;
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  #onData: (() => void)[] = [];

  constructor() {
    this.channel = this.pc.createDataChannel("snowflake-test");
    this.channel.binaryType = "arraybuffer";
    this.opened = new Promise((resolve) =>
      this.channel.addEventListener("open", () => resolve(), { once: true })
    );
    this.closed = new Promise((resolve) =>
      this.channel.addEventListener("close", () => resolve(), { once: true })
    );
    this.channel.addEventListener("message", (event) => {
      const data = (event as MessageEvent).data;
      const bytes = typeof data === "string"
        ? new TextEncoder().encode(data)
        : new Uint8Array(data as ArrayBuffer);
      this.received.push(bytes);
      this.receivedBytes += bytes.length;
      for (const wake of this.#onData.splice(0)) wake();
    });
  }

  /** The offer as the broker carries it, after gathering. */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await waitForIceGatheringComplete(this.pc);
    return serializeSessionDescription({ type: "offer", sdp: this.pc.localDescription!.sdp });
  }

  /** Applies the proxy's answer (what the broker would hand back). */
  async answer(answer: string): Promise<void> {
    await this.pc.setRemoteDescription(parseSessionDescription(answer, "answer"));
  }

  /** Resolves once `n` bytes have arrived in total (or the channel closed). */
  async waitForBytes(n: number): Promise<void> {
    while (this.receivedBytes < n && this.channel.readyState === "open") {
      await new Promise<void>((resolve) => {
        this.#onData.push(resolve);
        this.closed.then(() => resolve());
      });
    }
  }

  /** Everything received, concatenated. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.receivedBytes);
    let offset = 0;
    for (const chunk of this.received) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  close(): void {
    this.pc.close();
  }
}

/** Makes a client, queues its offer at `broker`, and applies the proxy's answer when it comes. */
export async function connectClient(broker: ScriptedBroker, relayURL = ""): Promise<TestClient> {
  const client = new TestClient();
  const offer = await client.offer();
  broker.queue({
    offer,
    relayURL,
    onAnswer: (answer) => {
      client.answer(answer).catch(() => {});
      return true;
    },
  });
  return client;
}

/** What the relay does with one WebSocket. */
export type RelayBehaviour = (socket: WebSocket, request: Request) => void;

export const echo: RelayBehaviour = (socket) => {
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => socket.send(event.data);
};

/** A WebSocket relay on 127.0.0.1 whose behaviour can change between clients. */
export class TestRelay {
  behaviour: RelayBehaviour = echo;
  /** `new Response(...)` instead of upgrading, when set. */
  refuse: Response | undefined;
  readonly requests: string[] = [];
  readonly sockets: WebSocket[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #opened: WebSocket[] = [];
  #claimed = 0;
  #onSocket: (() => void)[] = [];

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      this.requests.push(request.url);
      if (this.refuse) return this.refuse.clone();
      const { socket, response } = Deno.upgradeWebSocket(request);
      this.sockets.push(socket);
      socket.addEventListener("open", () => {
        this.behaviour(socket, request);
        this.#opened.push(socket);
        for (const listener of this.#onSocket.splice(0)) listener();
      }, { once: true });
      return response;
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.#server.addr.port}/`;
  }

  /** The next WebSocket not yet returned by this, once open. */
  async nextSocket(): Promise<WebSocket> {
    while (this.#opened.length <= this.#claimed) {
      await new Promise<void>((resolve) => this.#onSocket.push(resolve));
    }
    return this.#opened[this.#claimed++];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) {
      try {
        socket.close();
      } catch { /* closed */ }
    }
    await this.#server.shutdown();
  }
}

/** The proxy under test: our broker script, loopback candidates, relays on 127.0.0.1 allowed. */
export function startRigProxy(
  broker: ScriptedBroker,
  relay: { url: string },
  config: ProxyConfig = {},
): ProxyHandle {
  return startProxy({
    brokerUrl: "http://broker.test/",
    fetch: broker.fetch,
    relayUrl: relay.url,
    stunUrl: "",
    includeLoopbackCandidates: true,
    keepLocalAddresses: true,
    allowPrivateAddresses: true,
    allowNonTlsRelay: true,
    allowedRelayHostnamePattern: "$",
    pollIntervalMs: 2_000,
    summaryIntervalMs: 0,
    ...config,
  });
}

/** The next `clientclosed` event's detail. */
export function nextClientClosed(proxy: ProxyHandle): Promise<ClientClosedDetail> {
  return new Promise((resolve) =>
    proxy.events.addEventListener("clientclosed", (event) => resolve(event.detail), { once: true })
  );
}
