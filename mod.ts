/**
 * Snowflake with Turbo Tunnel for Deno: the library behind the `snowflake`
 * executable. Re-exports the public API of lib/; see lib/README.md for a map.
 */

export * from "./lib/util/clock.ts";
export * from "./lib/util/log.ts";
export * from "./lib/util/scrub.ts";
export * from "./lib/util/flags.ts";
export * from "./lib/util/bytes.ts";
export * from "./lib/net/async_queue.ts";
export * from "./lib/net/packet_conn.ts";
export * from "./lib/net/byte_conn.ts";
export * from "./lib/net/memory.ts";
export * from "./lib/net/udp.ts";
export * from "./lib/encapsulation/error.ts";
export * from "./lib/encapsulation/codec.ts";
export * from "./lib/encapsulation/decoder.ts";
export * from "./lib/encapsulation/packet_conn.ts";
export * from "./lib/turbotunnel/consts.ts";
export * from "./lib/turbotunnel/client_id.ts";
export * from "./lib/turbotunnel/send_queue.ts";
export * from "./lib/turbotunnel/client_map.ts";
export * from "./lib/turbotunnel/queue_packet_conn.ts";
export * from "./lib/turbotunnel/redial_events.ts";
export * from "./lib/turbotunnel/redial_packet_conn.ts";
export * from "./lib/kcp/error.ts";
export * from "./lib/kcp/segment.ts";
export * from "./lib/kcp/options.ts";
export * from "./lib/kcp/rtt.ts";
export * from "./lib/kcp/arq.ts";
export * from "./lib/kcp/session.ts";
export * from "./lib/kcp/listener.ts";
export * from "./lib/smux/error.ts";
export * from "./lib/smux/config.ts";
export * from "./lib/smux/frame.ts";
export * from "./lib/smux/frame_reader.ts";
export * from "./lib/smux/machine.ts";
export * from "./lib/smux/stream.ts";
export * from "./lib/smux/session.ts";
