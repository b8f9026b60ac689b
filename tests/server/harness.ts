/**
 * An in-process server for tests: startServer with plain ws://, a
 * stand-in ORPort/ExtORPort behind it, the log captured as lines and the
 * server's events recorded (tests wait for events, not for log lines).
 */

import { type ServerConfig, type SnowflakeServer, startServer } from "../../lib/server/server.ts";
import type { ServerEventMap } from "../../lib/server/operations/events.ts";
import { formatAuthCookie } from "../../lib/pt/auth_cookie.ts";
import { Logger } from "../../lib/util/log.ts";
import { type StandIn, type StandInOptions, startExtOrPortStandIn } from "../pt/extorport_standin.ts";

export const LOOPBACK = new Uint8Array([127, 0, 0, 1]);

export interface TestServer {
  server: SnowflakeServer;
  standIn: StandIn;
  /** Log lines without their timestamps. */
  lines: string[];
  url: string;
  /** Every event the server emitted so far, in order. */
  events: { type: keyof ServerEventMap; detail: unknown }[];
  /** Resolves with the first `type` event (past or future) whose detail passes `match`; rejects after `ms`. */
  waitForEvent<K extends keyof ServerEventMap>(
    type: K,
    match?: (detail: ServerEventMap[K]["detail"]) => boolean,
    ms?: number,
  ): Promise<ServerEventMap[K]["detail"]>;
  close(): Promise<void>;
}

/** Starts a stand-in (ExtORPort when `standIn.cookie` is set) and a server in front of it. */
export async function startTestServer(
  standInOptions: StandInOptions = {},
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const standIn = startExtOrPortStandIn(standInOptions);
  let cookiePath: string | undefined;
  if (standInOptions.cookie) {
    cookiePath = await Deno.makeTempFile();
    await Deno.writeFile(cookiePath, formatAuthCookie(standInOptions.cookie));
  }
  const lines: string[] = [];
  const sink = (line: string) => void lines.push(line.replace(/^\S+ \S+ /, ""));
  const server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    tor: {
      target: cookiePath
        ? { extendedOrAddr: { ip: LOOPBACK, port: standIn.port }, authCookiePath: cookiePath }
        : { orAddr: { ip: LOOPBACK, port: standIn.port } },
    },
    numTurbotunnel: 1,
    legacy: true,
    logger: new Logger(sink),
    logSink: sink,
    unsafeLogging: false,
    verbose: false,
    statsIntervalMs: 0,
    ...overrides,
  });
  const events: TestServer["events"] = [];
  for (
    const type of [
      "connectionaccepted",
      "upgradefailed",
      "carrieropened",
      "carriermode",
      "carrierclosed",
      "sessionopened",
      "sessionclosed",
      "streamfailed",
    ] as const
  ) {
    server.events.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
  }
  return {
    server,
    standIn,
    lines,
    url: `ws://127.0.0.1:${server.port}/`,
    events,
    async waitForEvent(type, match = () => true, ms = 10_000) {
      for (let waited = 0; waited < ms; waited += 20) {
        const found = events.find((e) => e.type === type && match(e.detail as never));
        if (found) return found.detail as never;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(
        `no ${type} event in ${ms} ms; events: ${JSON.stringify(events)}\nlog:\n${lines.join("\n")}`,
      );
    },
    async close() {
      await server.stop();
      await standIn.close();
      if (cookiePath) await Deno.remove(cookiePath);
    },
  };
}

export { sha256Hex } from "../support/digest.ts";

export { cryptoRandomBytes as randomBytes } from "../support/random.ts";
