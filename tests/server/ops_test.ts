import assert from "node:assert/strict";
import {
  newCarrierCounters,
  newTunnelCounters,
  sumTunnelCounters,
} from "../../lib/server/operations/counters.ts";
import { DeadlineSweeper } from "../../lib/server/operations/deadline_sweeper.ts";
import { LogLimiter } from "../../lib/server/operations/log_limiter.ts";
import { formatServerPrometheus, serverMetricsHandler } from "../../lib/server/operations/prometheus.ts";
import { formatStatsLine } from "../../lib/server/operations/stats_line.ts";
import { Logger } from "../../lib/util/log.ts";

Deno.test("DeadlineSweeper: expires only what is due, once; extending works", () => {
  const sweeper = new DeadlineSweeper();
  const fired: string[] = [];
  const a = sweeper.add({ at: 100, onExpire: () => fired.push("a") });
  sweeper.add({ at: 200, onExpire: () => fired.push("b") });
  const c = sweeper.add({ at: 50, onExpire: () => fired.push("c") });
  sweeper.remove(c);
  assert.equal(sweeper.sweep(99), 0);
  a.at = 150; // progress pushes the deadline
  assert.equal(sweeper.sweep(120), 0);
  assert.equal(sweeper.sweep(200), 2);
  assert.deepEqual(fired, ["a", "b"]);
  assert.equal(sweeper.sweep(1000), 0);
  assert.equal(sweeper.size, 0);
});

Deno.test("LogLimiter: a burst per kind per window, then a count of what was suppressed", () => {
  const lines: string[] = [];
  const limiter = new LogLimiter(new Logger((line) => lines.push(line.replace(/^\S+ \S+ /, ""))), 2, 1000);
  for (let i = 0; i < 5; i++) limiter.info("bad", `bad ${i}`, 10);
  limiter.info("other", "other 0", 20);
  limiter.info("bad", "bad later", 1500);
  assert.deepEqual(lines, [
    "bad 0",
    "bad 1",
    "other 0",
    '(3 more "bad" lines suppressed in the last 1 s)',
    "bad later",
  ]);
});

Deno.test("stats line and Prometheus text", async () => {
  const before = { carrier: newCarrierCounters(), tunnel: newTunnelCounters() };
  const now = { carrier: newCarrierCounters(), tunnel: newTunnelCounters() };
  Object.assign(now.carrier, {
    connections: 10,
    connectionsOpen: 3,
    turbotunnel: 7,
    legacy: 1,
    refused: 2,
    withClientIp: 6,
    bytesFromClients: 2_500_000,
    bytesToClients: 10_000_000,
  });
  Object.assign(now.tunnel, {
    sessionsAccepted: 5,
    sessionsOpen: 2,
    streamsAccepted: 6,
    streamsOpen: 2,
    torFailures: 1,
    retransmitsTimeout: 7,
    retransmitsEarly: 20,
  });
  now.carrier.upgradesPending = 4;
  now.carrier.upgradeFailures.timeout = 3;
  now.carrier.upgradeFailures["pending-limit"] = 2;
  now.carrier.upgradeFailures["not-websocket"] = 1;
  now.carrier.closes.idle = 5;
  const line = formatStatsLine(before, now, 86400);
  assert.match(line, /upgrades: 4 pending, 3 timed out, 2 refused at a limit, 1 not WebSocket;/);
  assert.match(line, /^in the past 86400 s, 6\/10 connections had client_ip; /);
  assert.match(line, /connections: 7 turbotunnel, 1 legacy, 2 refused, 3 open;/);
  assert.match(line, /sessions: 5 new, 0 refused, 2 open; streams: 6 new, 1 failed to reach tor, 2 open;/);
  assert.match(line, /bytes: 2\.5 MB from clients, 10\.0 MB to clients/);
  assert.match(line, /KCP segments resent: 7 on timeout, 20 early, 0 fast$/);

  const text = formatServerPrometheus(now);
  assert.match(text, /^# HELP snowflake_server_websocket_connections_total /m);
  assert.match(text, /^snowflake_server_websocket_connections_total\{mode="turbotunnel"\} 7$/m);
  assert.match(text, /^snowflake_server_sessions_open 2$/m);
  assert.match(text, /^snowflake_server_upgrades_pending 4$/m);
  assert.match(text, /^snowflake_server_upgrades_failed_total\{reason="timeout"\} 3$/m);
  assert.match(text, /^snowflake_server_websocket_closes_total\{reason="idle"\} 5$/m);
  assert.match(text, /^# TYPE snowflake_server_streams_open gauge$/m);
  assert.match(text, /^snowflake_server_kcp_retransmits_total\{cause="early"\} 20$/m);
  const handler = serverMetricsHandler(() => Promise.resolve(now));
  const response = await handler(new Request("http://server/metrics"));
  assert.equal(response.status, 200);
  assert.equal(await response.text(), text);
  const missing = await handler(new Request("http://server/other"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  const total = sumTunnelCounters([now.tunnel, now.tunnel]);
  assert.equal(total.streamsAccepted, 12);
});
