/**
 * Snowflake with Turbo Tunnel for Deno, as a library: the roles the
 * `snowflake` executable runs, and the layers they are built from. See
 * lib/README.md for the map of the code; everything not listed here is
 * internal and may change.
 *
 * The stack, bottom up: a carrier (WebSocket, WebRTC data channel) moves
 * bytes; {@link EncapsulationPacketConn} frames packets in them; a
 * {@link ClientId} keys a {@link QueuePacketConn} (server) or a
 * {@link RedialPacketConn} (client) that outlives each carrier; KCP
 * ({@link KcpSession}, {@link KcpListener}) makes it reliable; smux
 * ({@link SmuxSession}) carries streams ({@link SmuxStream}), each a
 * {@link ByteConn}.
 *
 * A role is started from a typed config and returns a handle:
 *
 * ```ts
 * import { startBroker } from "./mod.ts";
 *
 * const broker = await startBroker({ listen: { hostname: "127.0.0.1", port: 0 } });
 * console.log(`broker on port ${broker.addr.port}`, broker.stats().waitingProxies);
 * await broker.stop();
 * ```
 *
 * @module
 */

// Roles.
export {
  type Broker,
  type BrokerConfig,
  BrokerStartError,
  type BrokerStartSource,
  type BrokerStats,
  startBroker,
} from "./lib/broker/broker.ts";
export {
  type BrokerEventMap,
  BrokerEvents,
  type ClientRepliedDetail,
  type ProxyPolledDetail,
  type ProxyRepliedDetail,
} from "./lib/broker/events.ts";
export type { ListenAddress } from "./lib/broker/listen_address.ts";
export type { MatcherOptions } from "./lib/broker/matcher.ts";
export type { NatPolicy } from "./lib/broker/nat_policy.ts";
export type { PeriodCounts } from "./lib/broker/metrics.ts";
export {
  type ClientClosedDetail,
  type ClientConnectedDetail,
  type NatChangeDetail,
  type PollDetail,
  type PollResult,
  type ProxyEventMap,
  ProxyEvents,
} from "./lib/proxy/events.ts";
export { type ProxyConfig, ProxyConfigError } from "./lib/proxy/config.ts";
export type { ClientCloseReason, FlowLimits, SessionTimeouts } from "./lib/proxy/client_session.ts";
export type { ResolveHost } from "./lib/proxy/relay_url.ts";
export type {
  PeerConnectionFactory,
  ProxyPeerConnection,
  RelayConnection,
  RelayConnectionFactory,
  RelayConnectionHandlers,
} from "./lib/proxy/runtime.ts";
export type { NatType } from "./lib/messages/nat.ts";
export { type ProxyHandle, type ProxyStats, startProxy } from "./lib/proxy/proxy.ts";
export { type Client, type ClientConfig, type ClientStats, startClient } from "./lib/client/client.ts";
export type { ClientTransportOptions } from "./lib/client/bridge_args.ts";
export {
  type CarrierUpDetail,
  type ClientEventMap,
  ClientEvents,
  type ClientSessionClosedDetail,
  type ClientSessionOpenedDetail,
  type ProxyConnectedDetail,
  type ProxyLostDetail,
  type ProxyLostReason,
  type RendezvousFailedDetail,
  type SocksRejectedDetail,
} from "./lib/client/events.ts";
export type { LivenessConfig } from "./lib/client/liveness.ts";
export type { Dial } from "./lib/client/rendezvous/http1_round_trip.ts";
export { type ServerConfig, type SnowflakeServer, startServer } from "./lib/server/server.ts";
export {
  type CarrierClosedDetail,
  type CarrierCloseReason,
  type CarrierMode,
  type CarrierModeDetail,
  type CarrierOpenedDetail,
  type ServerEventMap,
  ServerEvents,
  type SessionClosedDetail,
  type SessionCloseReason,
  type SessionOpenedDetail,
  type StreamFailedDetail,
  type UpgradeFailedDetail,
  type UpgradeFailure,
} from "./lib/server/operations/events.ts";
/** KCP retransmissions by cause, as a server session's end reports them. */
export type { ArqRetransmits } from "./lib/kcp/arq.ts";
export type { StatsSnapshot } from "./lib/server/operations/stats_line.ts";
export type { CarrierCounters, TunnelCounters } from "./lib/server/operations/counters.ts";
export type { TorConfig } from "./lib/server/tunnel/tor_dialer.ts";
export type { SrcAddrRange } from "./lib/server/tunnel/src_addr.ts";
export type { OrTarget } from "./lib/pt/dial_or.ts";
export type { TcpAddr } from "./lib/net/addr.ts";
export type { ServerWebSocketOptions } from "./lib/websocket/server_conn.ts";
export type { WebSocketProtocolOptions } from "./lib/websocket/protocol.ts";
export { TypedEventTarget } from "./lib/util/typed_events.ts";

// Interfaces the layers meet at.
export { ConnClosedError, type Packet, type PacketConn } from "./lib/net/packet_conn.ts";
export type { ByteConn } from "./lib/net/byte_conn.ts";

// Encapsulation: packets in a byte stream.
export { encodeData, encodePadding } from "./lib/encapsulation/codec.ts";
export { EncapsulationDecoder, type EncapsulationDecoderOptions } from "./lib/encapsulation/decoder.ts";
export { EncapsulationError, type EncapsulationErrorCode } from "./lib/encapsulation/error.ts";
export {
  EncapsulationPacketConn,
  encapsulationPacketConn,
  type EncapsulationPacketConnOptions,
} from "./lib/encapsulation/packet_conn.ts";

// Turbo Tunnel: sessions that outlive their carriers.
export { ClientId } from "./lib/turbotunnel/client_id.ts";
export { QueuePacketConn, type QueuePacketConnOptions } from "./lib/turbotunnel/queue_packet_conn.ts";
export {
  type DialCarrier,
  RedialPacketConn,
  type RedialPacketConnOptions,
} from "./lib/turbotunnel/redial_packet_conn.ts";
export {
  CarrierDownEvent,
  CarrierUpEvent,
  RedialCloseEvent,
  RedialEvent,
  type RedialPacketConnEventMap,
} from "./lib/turbotunnel/redial_events.ts";

// KCP and smux.
export { KcpError, type KcpErrorCode } from "./lib/kcp/error.ts";
export { type KcpOptions, SNOWFLAKE_KCP_OPTIONS } from "./lib/kcp/options.ts";
export {
  type KcpDialOptions,
  KcpSession,
  type KcpSessionOptions,
  type KcpSessionStats,
} from "./lib/kcp/session.ts";
export { KcpListener, type KcpListenerOptions, type KcpListenerStats } from "./lib/kcp/listener.ts";
export { type SmuxConfig, SNOWFLAKE_SMUX_CLIENT, SNOWFLAKE_SMUX_SERVER } from "./lib/smux/config.ts";
export { SmuxError, type SmuxErrorCode } from "./lib/smux/error.ts";
export { SmuxSession, type SmuxSessionOptions } from "./lib/smux/session.ts";
export { SmuxStream } from "./lib/smux/stream.ts";

// Carriers.
export {
  dialWebSocket,
  type WebSocketConn,
  webSocketConn,
  type WebSocketConnOptions,
} from "./lib/websocket/websocket_conn.ts";
export {
  type EventHandler,
  type GatheringPeer,
  type NativeStats,
  nativeStats,
  type RTCConfiguration,
  RTCDataChannel,
  RTCDataChannelEvent,
  type RTCDataChannelInit,
  type RTCDataChannelState,
  RTCErrorEvent,
  type RTCIceConnectionState,
  type RTCIceGatheringState,
  type RTCIceServer,
  RTCPeerConnection,
  RTCPeerConnectionIceEvent,
  type RTCPeerConnectionState,
  type RTCSdpType,
  RTCSessionDescription,
  type RTCSessionDescriptionInit,
  type RTCSignalingState,
  waitForIceGatheringComplete,
} from "./lib/webrtc/mod.ts";

// Shared utilities.
export { type Clock, ManualClock, systemClock, type Timers } from "./lib/util/clock.ts";
export {
  Logger,
  type LoggerOptions,
  type LogLevel,
  type LogSink,
  nullSink,
  stderrSink,
} from "./lib/util/log.ts";
