/**
 * `startProxy(config)`: the standalone volunteer proxy as a library
 * (SNOWFLAKE-PROTOCOL.md §6). The adapter around {@link PollMachine}: it owns
 * the clock and the one timer, runs the polls and NAT tests the machine asks
 * for, checks each offer and relay URL, runs a {@link runClientSession} per
 * client, and reports everything as typed events ({@link ProxyEvents}) that
 * the log, the summary line, the metrics and tests read.
 *
 * ```ts
 * import { Logger, stderrSink } from "../util/log.ts";
 *
 * const logger = new Logger(stderrSink);
 * const proxy = startProxy({ brokerUrl: "http://127.0.0.1:8080/", stunUrl: "", capacity: 10, logger });
 * proxy.events.addEventListener("clientclosed", (e) => console.log(e.detail.reason));
 * await proxy.stop();
 * ```
 */

import { errorMessage } from "../util/errors.ts";
import { NameMatcher } from "../messages/name_matcher.ts";
import { parseIp } from "../net/addr.ts";
import { NAT_UNKNOWN, type NatType } from "../messages/nat.ts";
import { parseSessionDescription } from "../messages/session_description.ts";
import { systemClock } from "../util/clock.ts";
import { formatDuration } from "../util/flags.ts";
import { Logger, nullSink } from "../util/log.ts";
import type { RTCConfiguration } from "../webrtc/config.ts";
import { RTCPeerConnection } from "../webrtc/peer_connection.ts";
import { BrokerClient, BrokerError } from "./broker_client.ts";
import { type ByteCounters, type ClientCloseReason, runClientSession } from "./client_session.ts";
import {
  DEFAULT_BROKER_URL,
  DEFAULT_FLOW,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_NAT_RETEST_INTERVAL_MS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_PROXY_TYPE,
  DEFAULT_RELAY_PATTERN,
  DEFAULT_RELAY_URL,
  DEFAULT_STUN_URL,
  DEFAULT_SUMMARY_INTERVAL_MS,
  DEFAULT_TIMEOUTS,
  ICE_GATHERING_TIMEOUT_MS,
  MIN_POLL_INTERVAL_MS,
  type ProxyConfig,
  ProxyConfigError,
} from "./config.ts";
import { type ClientClosedDetail, ProxyEvents } from "./events.ts";
import { maxMessageSizeFromSdp, remoteIpFromSdp } from "./offer_facts.ts";
import { type PollAction, PollMachine, type PollOutcome } from "./poll_machine.ts";
import { checkRelayUrl, parseRelayUrl, type RelayUrlPolicy, relayUrlWithClientIp } from "./relay_url.ts";
import { openRelayConnection } from "./relay_connection.ts";
import type { PeerConnectionFactory } from "./runtime.ts";
import { formatSummary, SummaryCounter } from "./summary.ts";
import { TokenBucket } from "./token_bucket.ts";

/** What {@link ProxyHandle.stats} reports: totals since start, and gauges. */
export interface ProxyStats {
  /** The NAT type the last test found. */
  nat: NatType;
  /** Clients whose offer was taken and whose session has not ended. */
  clients: number;
  /** Most clients at once (0 = unlimited). */
  capacity: number;
  /** Polls started. */
  polls: number;
  /** Polls answered with a client's offer. */
  matches: number;
  /** Polls answered with `no match`. */
  noMatches: number;
  /** Polls that failed: broker unreachable, bad status, junk or oversized reply. */
  brokerErrors: number;
  /** Clients whose data channel opened (Go's connection count). */
  connections: number;
  /** Clients that never opened their data channel in time. */
  timeouts: number;
  /** Bytes relayed from clients to relays. */
  bytesFromClients: number;
  /** Bytes relayed from relays to clients. */
  bytesToClients: number;
  /** Ended client sessions by reason. */
  closes: Record<ClientCloseReason, number>;
}

/** A running proxy, returned by {@link startProxy}. */
export interface ProxyHandle {
  /** Typed events: poll, natchange, clientconnected, clientclosed. */
  readonly events: ProxyEvents;
  /** The NAT type the last test found (`unknown` until one decides). */
  readonly natType: NatType;
  /** Counts now; cheap enough for a metrics scrape. */
  stats(): ProxyStats;
  /** Stops polling, closes every client, and resolves when all is torn down. */
  stop(): Promise<void>;
}

const CLOSE_REASONS: ClientCloseReason[] = [
  "client closed",
  "relay closed",
  "relay dial failed",
  "relay refused",
  "inactivity",
  "data channel timeout",
  "answer failed",
  "bad offer",
  "queue overflow",
  "stopped",
];

/** A 16-byte random session ID, std base64 without padding (Go `genSessionID`). */
function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function validate(config: ProxyConfig): void {
  const capacity = config.capacity ?? 0;
  if (!Number.isInteger(capacity) || capacity < 0) {
    throw new ProxyConfigError(`capacity ${capacity} is not a whole number >= 0`);
  }
  const poll = config.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!(poll >= MIN_POLL_INTERVAL_MS)) {
    throw new ProxyConfigError(
      `poll interval ${formatDuration(poll)} is less than ${formatDuration(MIN_POLL_INTERVAL_MS)}`,
    );
  }
  for (
    const [name, value] of [
      ["NAT retest interval", config.natRetestIntervalMs],
      ["summary interval", config.summaryIntervalMs],
      ["bandwidth cap", config.bandwidthCapBytesPerSecond],
    ] as const
  ) {
    if (value !== undefined && !(value >= 0)) throw new ProxyConfigError(`${name} ${value} is negative`);
  }
  if (config.outboundAddress && parseIp(config.outboundAddress) === null) {
    throw new ProxyConfigError(
      `outbound address ${JSON.stringify(config.outboundAddress)} is not an IP address`,
    );
  }
  const pattern = config.allowedRelayHostnamePattern ?? DEFAULT_RELAY_PATTERN;
  if (!NameMatcher.isValidRule(pattern)) {
    throw new ProxyConfigError(`allowed relay hostname pattern ${JSON.stringify(pattern)} must end with $`);
  }
  try {
    parseRelayUrl(config.relayUrl ?? DEFAULT_RELAY_URL);
  } catch (error) {
    throw new ProxyConfigError(`-relay: ${errorMessage(error)}`);
  }
  let broker: URL;
  try {
    broker = new URL(config.brokerUrl ?? DEFAULT_BROKER_URL);
  } catch {
    throw new ProxyConfigError(`broker URL ${JSON.stringify(config.brokerUrl)} is not a URL`);
  }
  if (broker.protocol !== "https:" && broker.protocol !== "http:") {
    throw new ProxyConfigError(`broker URL scheme ${broker.protocol} is not https: or http:`);
  }
}

/** Starts polling at once. Throws {@link ProxyConfigError} for a configuration that cannot work. */
export function startProxy(config: ProxyConfig = {}): ProxyHandle {
  validate(config);
  const clock = config.clock ?? systemClock;
  const logger = config.logger ?? new Logger(nullSink);
  const capacity = config.capacity ?? 0;
  const events = new ProxyEvents();
  const stopping = new AbortController();
  const broker = new BrokerClient({
    brokerUrl: new URL(config.brokerUrl ?? DEFAULT_BROKER_URL),
    fetch: config.fetch ?? fetch.bind(globalThis),
  });
  const pattern = config.allowedRelayHostnamePattern ?? DEFAULT_RELAY_PATTERN;
  const policy: RelayUrlPolicy = {
    pattern: new NameMatcher(pattern),
    allowNonTls: config.allowNonTlsRelay ?? false,
    allowPrivateAddresses: config.allowPrivateAddresses ?? false,
    resolveHost: config.resolveHost,
  };
  const defaultRelay = config.relayUrl ?? DEFAULT_RELAY_URL;
  const stun = config.stunUrl ?? DEFAULT_STUN_URL;
  const rtcConfig: RTCConfiguration = {
    iceServers: stun ? [{ urls: stun }] : [],
    stripLocalAddresses: !(config.keepLocalAddresses ?? false),
    includeLoopbackCandidates: config.includeLoopbackCandidates ?? false,
    portRange: config.ephemeralPortRange,
    outboundAddress: config.outboundAddress || undefined,
    mdns: "disabled",
    iceGatheringTimeoutMs: ICE_GATHERING_TIMEOUT_MS,
    // pion's warnings (STUN timeouts, stray packets) are noise to an operator: only with -verbose.
    logger: logger.verbose ? logger : undefined,
  };
  const createPeerConnection: PeerConnectionFactory = config.createPeerConnection ??
    ((c) => new RTCPeerConnection(c));
  const openRelay = config.openRelay ?? openRelayConnection;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const flow = { ...DEFAULT_FLOW, ...config.flow };
  const cap = config.bandwidthCapBytesPerSecond ?? 0;
  const bucket = cap > 0 ? new TokenBucket(cap, clock.now()) : undefined;
  const proxyType = config.proxyType ?? DEFAULT_PROXY_TYPE;

  const machine = new PollMachine({
    capacity,
    pollIntervalMs: config.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    maxBackoffMs: config.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    natRetestIntervalMs: config.probeNat ? config.natRetestIntervalMs ?? DEFAULT_NAT_RETEST_INTERVAL_MS : 0,
  }, clock.now());

  let nat: NatType = NAT_UNKNOWN;
  const counters: ByteCounters = { fromClients: 0, toClients: 0 };
  const closes = Object.fromEntries(CLOSE_REASONS.map((r) => [r, 0])) as Record<ClientCloseReason, number>;
  let connections = 0;
  let noMatches = 0;
  let matches = 0;
  let nextClientId = 1;
  const pending = new Set<Promise<void>>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const track = (started: Promise<void>) => {
    const work = started.catch((error) =>
      logger.error(`proxy: unexpected error: ${(error as Error).stack ?? error}`)
    );
    pending.add(work);
    work.finally(() => pending.delete(work));
  };

  /** One wake-up: feed the machine the time, start what it asks for, re-arm the timer. */
  const drive = () => {
    if (stopped) return;
    const now = clock.now();
    machine.handleTimeout(now);
    for (let action = machine.pollTransmit(now); action; action = machine.pollTransmit(now)) {
      track(perform(action));
    }
    clearTimeout(timer);
    const at = machine.pollTimeout();
    timer = at === null ? undefined : setTimeout(drive, Math.max(0, at - clock.now()));
  };

  const report = (outcome: PollOutcome) => {
    if (stopped) return;
    machine.handleInput(clock.now(), outcome);
    drive();
  };

  const perform = async (action: PollAction): Promise<void> => {
    if (action.kind === "nat-test") return await testNat();
    await pollOnce(action.clients);
  };

  const testNat = async () => {
    const probe = config.probeNat;
    if (probe) {
      let found: NatType | undefined;
      try {
        found = await probe(stopping.signal);
      } catch (error) {
        if (!stopping.signal.aborted) logger.warn(`NAT type test failed: ${errorMessage(error)}`);
      }
      if (found !== undefined && !stopped) {
        logger.info(`NAT type: ${found}`);
        if (found !== nat) {
          const previous = nat;
          nat = found;
          events.emit("natchange", { nat, previous });
        }
      }
    }
    report({ kind: "nat-tested" });
  };

  const pollOnce = async (clients: number) => {
    const sid = newSessionId();
    let reply;
    try {
      reply = await broker.poll(
        { sid, type: proxyType, nat, clients, acceptedRelayPattern: pattern },
        stopping.signal,
      );
    } catch (error) {
      if (stopped) return;
      const message = error instanceof BrokerError ? error.message : String(error);
      logger.warn(`${message}; polling again later`);
      events.emit("poll", { result: "error", error: message });
      return report({ kind: "error" });
    }
    if (stopped) return;
    if (!reply.offer) {
      noMatches++;
      events.emit("poll", { result: "no match" });
      return report({ kind: "no-match" });
    }
    matches++;
    events.emit("poll", { result: "match" });
    const id = nextClientId++;
    // Checks that refuse the offer before any WebRTC work; the slot goes back at once.
    const refuse = (reason: ClientCloseReason, detail: string) => {
      logger.warn(`client ${id}: offer not taken (${reason}): ${detail}`);
      closes[reason]++;
      events.emit("clientclosed", {
        id,
        reason,
        detail,
        connected: false,
        bytesFromClient: 0,
        bytesToClient: 0,
        durationMs: 0,
      });
      report({ kind: "no-match" });
    };
    let sdp: string;
    try {
      sdp = parseSessionDescription(reply.offer, "offer").sdp;
    } catch (error) {
      return refuse("bad offer", `bad offer from broker: ${errorMessage(error)}`);
    }
    const fromBroker = reply.relayURL !== "";
    let relay: URL;
    try {
      relay = await checkRelayUrl(fromBroker ? reply.relayURL : defaultRelay, fromBroker, policy);
    } catch (error) {
      return refuse("relay refused", `rejected relay URL: ${errorMessage(error)}`);
    }
    if (stopped) return;
    report({ kind: "offer" });
    await serveClient(id, sid, sdp, relay);
  };

  const serveClient = async (id: number, sid: string, sdp: string, relay: URL) => {
    const clientIp = remoteIpFromSdp(sdp);
    if (clientIp === undefined) logger.debug(`client ${id}: no remote address given in websocket`);
    let result;
    try {
      result = await runClientSession(
        { sdp, maxMessageSize: maxMessageSizeFromSdp(sdp) },
        (answer, signal) => broker.answer(sid, answer, signal),
        relayUrlWithClientIp(relay, clientIp),
        {
          createPeerConnection,
          openRelay,
          rtcConfig,
          clock,
          timeouts,
          flow,
          bucket,
          counters,
          logger,
          signal: stopping.signal,
          onConnected: () => {
            connections++;
            logger.debug(`client ${id}: data channel open; dialling the relay`);
            events.emit("clientconnected", { id });
          },
        },
      );
    } finally {
      machine.releaseSlot();
    }
    closes[result.reason]++;
    const detail: ClientClosedDetail = { id, ...result };
    const line = `client ${id}: ${result.reason}${result.detail ? ` (${result.detail})` : ""}; ` +
      `${result.bytesFromClient} bytes from the client, ${result.bytesToClient} to it`;
    if (["bad offer", "queue overflow", "relay dial failed"].includes(result.reason)) logger.warn(line);
    else logger.debug(line);
    summary.add(detail);
    events.emit("clientclosed", detail);
    drive();
  };

  const summaryInterval = config.summaryIntervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
  const summary = new SummaryCounter();
  // 0 disables the summary (Go 2.5.1 spins a core on it instead).
  const summaryTimer = summaryInterval > 0
    ? setInterval(() => logger.info(formatSummary(summaryInterval, summary.take())), summaryInterval)
    : undefined;

  logger.info("Proxy starting");
  drive();

  return {
    events,
    get natType() {
      return nat;
    },
    stats(): ProxyStats {
      const s = machine.stats();
      return {
        nat,
        clients: s.clients,
        capacity,
        polls: s.polls,
        matches,
        noMatches,
        brokerErrors: s.brokerErrors,
        connections,
        timeouts: closes["data channel timeout"],
        bytesFromClients: counters.fromClients,
        bytesToClients: counters.toClients,
        closes: { ...closes },
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      machine.stop();
      clearTimeout(timer);
      clearInterval(summaryTimer);
      stopping.abort(new DOMException("proxy stopping", "AbortError"));
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
