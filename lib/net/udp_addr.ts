/** UDP socket addresses as the "host:port" strings our PacketConns use ("[v6]:port" for IPv6, as Go prints them). */

/** Largest UDP payload over IPv4 (65535 − 8 − 20). */
export const MAX_UDP_PAYLOAD = 65507;

/** Formats a socket address as "host:port" ("[v6]:port"). */
export function formatUdpAddr(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** Parses "host:port" or "[v6]:port"; throws RangeError on anything else. */
export function parseUdpAddr(addr: string): Deno.NetAddr {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(addr);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new RangeError(`not a UDP address (host:port): ${JSON.stringify(addr)}`);
  return { transport: "udp", hostname: match[1] ?? match[2], port };
}
