/**
 * Hostname resolution with the runtime's resolver (Deno.resolveDns): the
 * A and AAAA records of a name, for checks on where a connection would go
 * (the proxy's private-address rule). Throws only if neither lookup answers.
 */

/** The IPv4 and IPv6 addresses of `hostname`. */
export async function resolveHostDns(hostname: string): Promise<string[]> {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  const addresses = lookups.flatMap((lookup) => lookup.status === "fulfilled" ? lookup.value : []);
  if (addresses.length === 0) {
    const failure = lookups.find((lookup) => lookup.status === "rejected") as
      | PromiseRejectedResult
      | undefined;
    throw new Error(
      `no address for ${hostname}${failure ? `: ${failure.reason?.message ?? failure.reason}` : ""}`,
    );
  }
  return addresses;
}
