/**
 * Which ICE servers an offer uses, as Go's `NewSnowflakeClient` picks them:
 * the `ice=` list (trimmed, empties dropped) shuffled, then only half of it
 * (rounded up) when it has more than two, so that clients spread over the
 * STUN servers of a bridge line and no one server sees every client.
 */

/** A random subset of `urls` in random order; `random` in [0, 1) is injectable for tests. */
export function chooseIceServers(urls: string[], random: () => number = Math.random): string[] {
  const servers = urls.map((url) => url.trim()).filter((url) => url !== "");
  for (let i = servers.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [servers[i], servers[j]] = [servers[j], servers[i]];
  }
  return servers.length > 2 ? servers.slice(0, Math.ceil(servers.length / 2)) : servers;
}
