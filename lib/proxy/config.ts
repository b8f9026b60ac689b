/**
 * The proxy's configuration and Go snowflake-proxy 2.5.1's defaults
 * (SNOWFLAKE-PROTOCOL.md §6.1, §6.7; `proxy/lib/snowflake.go`). Later
 * upstream names: `-poll-interval` (5 s, at least 2 s),
 * `-allow-proxying-to-private-addresses`, `-metrics-address`/`-metrics-port`,
 * `-outbound-address`.
 */

import type { NatType } from "../messages/nat.ts";
import { MAX_MESSAGE_SIZE } from "../webrtc/data_channel.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import type { FlowLimits, SessionTimeouts } from "./client_session.ts";
import type { ResolveHost } from "./relay_url.ts";
import type { PeerConnectionFactory, RelayConnectionFactory } from "./runtime.ts";

export const DEFAULT_BROKER_URL = "https://snowflake-broker.torproject.net/";
/** 2.5.1's default (2.6.1 went back to wss://snowflake.torproject.net/). */
export const DEFAULT_RELAY_URL = "wss://snowflake.bamsoftware.com/";
export const DEFAULT_STUN_URL = "stun:stun.l.google.com:19302";
export const DEFAULT_RELAY_PATTERN = "snowflake.torproject.net$";
export const DEFAULT_PROXY_TYPE = "standalone";
export const DEFAULT_POLL_INTERVAL_MS = 5_000; // Go pollInterval
/** Upstream's `-poll-interval` floor. */
export const MIN_POLL_INTERVAL_MS = 2_000;
export const DEFAULT_NAT_RETEST_INTERVAL_MS = 24 * 3600_000;
export const DEFAULT_SUMMARY_INTERVAL_MS = 3600_000;
/** Longest wait between polls after consecutive broker errors (ours; Go always waits 5 s). */
export const DEFAULT_MAX_BACKOFF_MS = 300_000;
/** ICE gathering is declared complete after this, with what was found (Go waits for pion, which gives up on STUN after 5 s). */
export const ICE_GATHERING_TIMEOUT_MS = 10_000;

export const DEFAULT_TIMEOUTS: SessionTimeouts = {
  dataChannelMs: 20_000, // Go dataChannelTimeout
  relayDialMs: 45_000, // gorilla DefaultDialer HandshakeTimeout
  inactivityMs: 30_000, // Go 2.5.1 inactivityTimeout
};

export const DEFAULT_FLOW: FlowLimits = {
  dataChannelHighWaterBytes: 1024 * 1024,
  dataChannelLowWaterBytes: 256 * 1024,
  webSocketHighWaterBytes: 1024 * 1024,
  webSocketPollMs: 5,
  // smux's 1 MiB stream window bounds what a well-behaved peer has in flight.
  maxQueuedBytes: 4 * 1024 * 1024,
  // Past this much queued for the client, the relay is not read (TCP pushes back on the bridge).
  relayPauseBytes: 256 * 1024,
  maxSendMessageBytes: MAX_MESSAGE_SIZE,
  relayJoinBytes: 32 * 1024,
};

/**
 * What {@link startProxy} needs; every field has Go snowflake-proxy 2.5.1's default. The runtime fields at the end are injectable for tests and other runtimes.
 */
export interface ProxyConfig {
  /** `-broker`; default {@link DEFAULT_BROKER_URL}. */
  brokerUrl?: string;
  /** `-relay`, used when the broker names no relay; default {@link DEFAULT_RELAY_URL}. */
  relayUrl?: string;
  /** `-stun`: the one ICE server; "" for none. Default {@link DEFAULT_STUN_URL}. */
  stunUrl?: string;
  /** `-capacity`: most clients at once, 0 = unlimited (default). */
  capacity?: number;
  /** `-allowed-relay-hostname-pattern`, must end in `$`; default {@link DEFAULT_RELAY_PATTERN}. */
  allowedRelayHostnamePattern?: string;
  /** `-allow-non-tls-relay`. */
  allowNonTlsRelay?: boolean;
  /** `-allow-proxying-to-private-addresses`: relays on loopback/private/link-local addresses. */
  allowPrivateAddresses?: boolean;
  /** `-keep-local-addresses`: keep LAN host candidates in the answer. */
  keepLocalAddresses?: boolean;
  /** `-ephemeral-ports-range`: UDP ports ICE may use. */
  ephemeralPortRange?: { min: number; max: number };
  /** `-outbound-address`: the IP ICE prefers (lib/webrtc's `outboundAddress`); default every interface. */
  outboundAddress?: string;
  /** Gather loopback candidates too (ours, for peers on one host, e.g. tests). */
  includeLoopbackCandidates?: boolean;
  /** `-poll-interval`, ms; default 5 s, at least {@link MIN_POLL_INTERVAL_MS}. */
  pollIntervalMs?: number;
  /** Longest back-off after broker errors, ms; default {@link DEFAULT_MAX_BACKOFF_MS}. */
  maxBackoffMs?: number;
  /** `-nat-retest-interval`, ms; 0 = test once. Default 24 h. */
  natRetestIntervalMs?: number;
  /** Tells the NAT type (RFC 5780 over `-stun`); without one the type stays `unknown`. Never delays polling. */
  probeNat?: (signal: AbortSignal) => Promise<NatType>;
  /** `-summary-interval`, ms; 0 = no summary line. Default 1 h. */
  summaryIntervalMs?: number;
  /** Bytes per second for all clients and both directions together (ours); 0 = no cap. */
  bandwidthCapBytesPerSecond?: number;
  /** Sent as `Type`; default `standalone`. */
  proxyType?: string;
  /** Where log lines go (scrubbed unless it was made with unsafeLogging). Default: nowhere. */
  logger?: Logger;

  /** Runtime, injectable: default the global fetch. */
  fetch?: typeof fetch;
  /** Default lib/webrtc's RTCPeerConnection. */
  createPeerConnection?: PeerConnectionFactory;
  /** Default relay_connection.ts: WebSocketStream (pausable reads) where the runtime has it, else WebSocket. */
  openRelay?: RelayConnectionFactory;
  /** Resolves relay hostnames for the private-address rule; default: only IP literals and localhost are checked. */
  resolveHost?: ResolveHost;
  /** Time source for timeouts and intervals; default the system's monotonic clock. */
  clock?: Clock;
  /** Per-client timeouts; default {@link DEFAULT_TIMEOUTS}. */
  timeouts?: Partial<SessionTimeouts>;
  /** Per-client buffer bounds; default {@link DEFAULT_FLOW}. */
  flow?: Partial<FlowLimits>;
}

/** A configuration that cannot work; the message names the setting. */
export class ProxyConfigError extends Error {
  /** Always "ProxyConfigError". */
  override name = "ProxyConfigError";
}
