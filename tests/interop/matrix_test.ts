/**
 * The interop matrix as pass/fail on integrity (`deno task interop` prints the
 * figures): each available pair of {Debian's `snowflake-client` 2.5.1, ours} ×
 * {Debian's `snowflake-proxy` 2.5.1, ours}, through our broker and server in a
 * network namespace (tests/support/chain_cell.ts): 5 MB down, 5 MB up, then
 * 2 MB down with the busy proxy SIGKILLed a quarter in and a fresh one
 * started; every byte compared. Needs root.
 */

import assert from "node:assert/strict";
import { runChainCell } from "../support/chain_cell.ts";
import { availableImpls } from "../support/peers.ts";

const SIZE = 5_000_000;
const KILL_SIZE = 2_000_000;

const { clients, proxies } = availableImpls();
for (const client of clients) {
  for (const proxy of proxies) {
    Deno.test(`interop matrix: ${client} client × ${proxy} proxy, 5 MB each way and a proxy killed, intact`, async () => {
      const result = await runChainCell({
        client,
        proxy,
        down: SIZE,
        up: SIZE,
        killDown: KILL_SIZE,
        budgetMs: 150_000,
      });
      assert.equal(result.error, undefined, result.error);
      assert.equal(result.down?.intact, true);
      assert.equal(result.down?.bytes, SIZE);
      assert.equal(result.up?.intact, true);
      assert.equal(result.up?.bytes, SIZE);
      assert.equal(result.kill?.intact, true);
      assert.equal(result.kill?.bytes, KILL_SIZE);
    });
  }
}
