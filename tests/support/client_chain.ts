/**
 * Test and bench helper: the chain of tests/support/chain_rig.ts with one PT
 * client (ours, `cli/main.ts client`, or Debian's `snowflake-client`) started
 * with it, as tor starts it (managed, TOR_PT_*), logging to `DIR/client.log`.
 */

import {
  type ChainRig,
  type ChainRigOptions,
  type ClientKind,
  startChainRig,
  type Transfer,
} from "./chain_rig.ts";
import type { Proc } from "./process.ts";
import { errorMessage } from "../../lib/util/errors.ts";

export {
  CHAIN_OR_PORT,
  CHAIN_STUN,
  type ClientKind,
  type ProxyKind,
  type Transfer,
  type TransferResult,
} from "./chain_rig.ts";

export interface ClientChain extends ChainRig {
  client: Proc;
  socksPort: number;
  /** Runs the two ends through the chain's client: `up` bytes from the SOCKS side, `down` from the ORPort side. */
  transfer(up: number, down: number, timeoutMs: number, ptArgs?: string): Transfer;
}

export interface ClientChainOptions extends ChainRigOptions {
  client: ClientKind;
  /** Extra flags for the client. */
  clientArgs?: string[];
  /** Extra `deno run` flags for our client (e.g. `--cpu-prof`, `--v8-flags=…`). */
  denoFlags?: string[];
  /** Extra environment for the client (e.g. `DENO_CERT` for a test CA). */
  clientEnv?: Record<string, string>;
}

/** Starts server, broker, STUN server, proxies and client; tears down what started if any step fails. */
export async function startClientChain(options: ClientChainOptions): Promise<ClientChain> {
  const deadline = options.deadline ?? Date.now() + 60_000;
  const rig = await startChainRig({ ...options, deadline });
  try {
    const { client, socksPort } = await rig.startClient(options.client, deadline, {
      name: "client",
      args: options.clientArgs,
      denoFlags: options.denoFlags,
      env: options.clientEnv,
    });
    return {
      ...rig,
      client,
      socksPort,
      transfer: (up, down, timeoutMs, ptArgs) => rig.transferVia(socksPort, up, down, timeoutMs, ptArgs),
    };
  } catch (error) {
    const text = rig.logs();
    await rig.close();
    throw new Error(`${errorMessage(error)}\n${text}`, { cause: error });
  }
}
