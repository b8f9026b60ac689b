/**
 * The UDP adapter for {@link NatDiscovery}: `discoverNatType` runs the RFC 5780
 * test against one `stun:` server over a fresh UDP socket and resolves to the
 * NAT type, `unknown` when it cannot be decided. It never throws for network
 * trouble (a name that does not resolve, an unreachable server, an abort).
 * Needs Deno's unstable `net` feature (`Deno.listenDatagram`).
 */

import { errorMessage } from "../util/errors.ts";
import { lookup } from "node:dns/promises";
import { formatIp, parseIp, parsePort, type TcpAddr } from "../net/addr.ts";
import { NAT_UNKNOWN, type NatType } from "../messages/nat.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { parseUdpAddr } from "../net/udp_addr.ts";
import { NatDiscovery, type NatDiscoveryResult } from "./discovery.ts";

/** RFC 5389 §9: the default port of `stun:` URLs. */
export const STUN_DEFAULT_PORT = 3478;
/** The whole test's default bound. */
export const DEFAULT_NAT_DISCOVERY_TIMEOUT_MS = 15_000;
/** Datagrams larger than this are not STUN answers we asked for. */
const RECEIVE_LIMIT_BYTES = 1500;

/** Options of {@link discoverNatType}. */
export interface DiscoverNatTypeOptions {
  /** `stun:host:port` or `stun:host` (RFC 7064); other schemes give `unknown`. */
  stunUrl: string;
  /** Bound on the whole test. Default {@link DEFAULT_NAT_DISCOVERY_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Ends the test early with `unknown`. */
  signal?: AbortSignal;
  /** Also test filtering (see `discovery.ts`). Default false, as the Go client. */
  testFiltering?: boolean;
  /** Per-request bound, retransmissions included (default 5 s). */
  transactionTimeoutMs?: number;
  /** Receives the detailed result (mapping, filtering, why unknown), e.g. for a log line. */
  onResult?: (result: NatDiscoveryResult) => void;
  /** Time source for the machine (default: the system clock). */
  clock?: Clock;
}

/** A `stun:` URL that cannot be used. */
export class StunUrlError extends Error {
  /** Always `"StunUrlError"`. */
  override name = "StunUrlError";
}

/** Parses `stun:host[:port][?transport=udp]` into host and port (RFC 7064 §3.1). */
export function parseStunUrl(url: string): { host: string; port: number } {
  const match = /^stun:([^?]+)(?:\?transport=udp)?$/i.exec(url.trim());
  if (!match) throw new StunUrlError(`not a stun: URL over UDP: ${JSON.stringify(url)}`);
  const rest = match[1];
  let host = rest, portText = "";
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0 || (end + 1 < rest.length && rest[end + 1] !== ":")) {
      throw new StunUrlError(`bad host in ${JSON.stringify(url)}`);
    }
    [host, portText] = [rest.slice(1, end), rest.slice(end + 2)];
    if (end + 1 === rest.length) portText = String(STUN_DEFAULT_PORT);
  } else {
    const parts = rest.split(":");
    if (parts.length > 2) throw new StunUrlError(`IPv6 host without brackets in ${JSON.stringify(url)}`);
    [host, portText] = [parts[0], parts[1] ?? String(STUN_DEFAULT_PORT)];
  }
  let port: number;
  try {
    port = parsePort(portText);
  } catch {
    throw new StunUrlError(`bad port in ${JSON.stringify(url)}`);
  }
  if (host === "" || port === 0) throw new StunUrlError(`no host or port in ${JSON.stringify(url)}`);
  return { host, port };
}

/** Runs the RFC 5780 NAT test against `options.stunUrl`; resolves `unknown` when it cannot decide. */
export async function discoverNatType(options: DiscoverNatTypeOptions): Promise<NatType> {
  const result = await discoverNatBehavior(options);
  options.onResult?.(result);
  return result.natType;
}

/** As {@link discoverNatType}, with the mapping and filtering behaviour and the reason for `unknown`. */
export async function discoverNatBehavior(options: DiscoverNatTypeOptions): Promise<NatDiscoveryResult> {
  const unknown = (reason: string): NatDiscoveryResult => ({
    natType: NAT_UNKNOWN,
    mapping: "unknown",
    filtering: options.testFiltering ? "unknown" : "untested",
    reason,
  });
  if (options.signal?.aborted) return unknown("aborted");
  let server: TcpAddr;
  try {
    const { host, port } = parseStunUrl(options.stunUrl);
    server = { ip: parseIp(host) ?? await resolveIpv4(host), port };
  } catch (error) {
    return unknown(errorMessage(error));
  }
  if (options.signal?.aborted) return unknown("aborted");
  let conn: Deno.DatagramConn;
  try {
    conn = Deno.listenDatagram({
      transport: "udp",
      hostname: server.ip.length === 4 ? "0.0.0.0" : "::",
      port: 0,
    });
  } catch (error) {
    return unknown(`cannot open a UDP socket: ${error instanceof Error ? error.message : error}`);
  }
  try {
    return await runDiscovery(conn, server, options);
  } finally {
    conn.close();
  }
}

/** The host's first IPv4 address, by the system resolver (hosts file first), as Go's "udp4" resolution. */
async function resolveIpv4(host: string): Promise<Uint8Array> {
  let address: string;
  try {
    ({ address } = await lookup(host, { family: 4 }));
  } catch (error) {
    throw new StunUrlError(`cannot resolve ${host}: ${error instanceof Error ? error.message : error}`);
  }
  const ip = parseIp(address);
  if (!ip) throw new StunUrlError(`no IPv4 address for ${host}`);
  return ip;
}

type Wake = { kind: "datagram"; data: Uint8Array; from: string } | { kind: "timer" } | { kind: "abort" };

async function runDiscovery(
  conn: Deno.DatagramConn,
  server: TcpAddr,
  options: DiscoverNatTypeOptions,
): Promise<NatDiscoveryResult> {
  const clock = options.clock ?? systemClock;
  const machine = new NatDiscovery({
    server,
    testFiltering: options.testFiltering,
    timeoutMs: options.timeoutMs ?? DEFAULT_NAT_DISCOVERY_TIMEOUT_MS,
    ...(options.transactionTimeoutMs !== undefined && { transactionTimeoutMs: options.transactionTimeoutMs }),
  });
  let abort: () => void = () => {};
  const aborted = new Promise<Wake>((resolve) => {
    abort = () => resolve({ kind: "abort" });
    options.signal?.addEventListener("abort", abort, { once: true });
  });
  const receive = (): Promise<Wake> =>
    conn.receive(new Uint8Array(RECEIVE_LIMIT_BYTES)).then(
      ([data, addr]) => ({ kind: "datagram", data, from: formatHostPort(addr as Deno.NetAddr) }),
      () => ({ kind: "abort" }) as Wake, // the socket failed: nothing more will arrive
    );
  let receiving = receive();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    machine.start(clock.now());
    for (;;) {
      for (let out = machine.pollTransmit(); out; out = machine.pollTransmit()) {
        try {
          await conn.send(out.packet, parseUdpAddr(out.to));
        } catch {
          // unreachable network, refused: as if the datagram were lost; retransmission or timeout decides
        }
      }
      const event = machine.pollEvent();
      if (event) return event.result;
      const at = machine.pollTimeout();
      const timerFired = new Promise<Wake>((resolve) => {
        timer = setTimeout(() => resolve({ kind: "timer" }), Math.max(0, (at ?? clock.now()) - clock.now()));
      });
      const wake = await Promise.race([receiving, timerFired, aborted]);
      clearTimeout(timer);
      if (wake.kind === "abort") {
        return {
          natType: NAT_UNKNOWN,
          mapping: "unknown",
          filtering: options.testFiltering ? "unknown" : "untested",
          reason: options.signal?.aborted ? "aborted" : "the UDP socket failed",
        };
      }
      if (wake.kind === "datagram") {
        machine.handleInput(clock.now(), wake.data, wake.from);
        receiving = receive();
      }
      machine.handleTimeout(clock.now());
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", abort);
  }
}

function formatHostPort(addr: Deno.NetAddr): string {
  const ip = parseIp(addr.hostname);
  const host = ip ? formatIp(ip) : addr.hostname;
  return host.includes(":") ? `[${host}]:${addr.port}` : `${host}:${addr.port}`;
}
