/**
 * Test and bench helper: the chain of tests/support/chain_rig.ts with a chosen
 * proxy in the middle (ours, `cli/main.ts proxy`, or Debian's
 * `snowflake-proxy`) and Debian's `snowflake-client` 2.5.1 at the front, a
 * fresh one per transfer (Go's client 2.5.1 wants a fresh proxy per SOCKS
 * connection). No STUN server answers there, so NAT types are `unknown` and
 * the broker runs with `--allow-unknown-nat-matching`.
 */

import {
  type ChainClient,
  type ChainRig,
  type ProxyKind,
  startChainRig,
  type TransferResult,
} from "../support/chain_rig.ts";
import type { Proc } from "../support/process.ts";

export { CHAIN_STUN, type ProxyKind, type TransferResult } from "../support/chain_rig.ts";

export interface Chain extends Omit<ChainRig, "startClient"> {
  /** The chain's one proxy. */
  proxy: Proc;
  /** One Go client (a fresh process) sends `up` and gets `down`; the client stops when it is done. */
  transfer(up: Uint8Array, down: Uint8Array, deadline: number): Promise<TransferResult>;
  /** A Go client process and its SOCKS port, once it reported CMETHODS DONE; stop it when done. */
  startClient(deadline: number): Promise<ChainClient>;
  /** Stops everything and removes the namespace and the temporary directory. */
  stop(): Promise<void>;
}

export async function startChain(
  kind: ProxyKind,
  options: { name: string; proxyArgs?: string[]; denoFlags?: string[]; deadline: number },
): Promise<Chain> {
  const rig = await startChainRig({
    ...options,
    proxy: kind,
    proxyDenoFlags: options.denoFlags,
    stunServer: false,
  });
  const startClient = (deadline: number) => rig.startClient("go", deadline);
  return {
    ...rig,
    proxy: rig.proxies[0],
    startClient,
    stop: rig.close,
    async transfer(up, down, deadline) {
      const { client, socksPort, log } = await startClient(deadline);
      try {
        const ends = rig.transferVia(socksPort, up, down, Math.max(1_000, deadline - Date.now()));
        try {
          const result = await ends.result;
          if (result.error) result.error += `\nclient log:\n${await Deno.readTextFile(log).catch(() => "")}`;
          return result;
        } finally {
          await ends.proc.stop();
        }
      } finally {
        await client.stop();
      }
    },
  };
}
