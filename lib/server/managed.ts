/**
 * Managed mode, as tor runs the server (SNOWFLAKE-PROTOCOL.md §8.2, §9.3): for
 * each bind address tor gave, start a server and report `SMETHOD snowflake
 * <addr> ARGS:<args>`, or `SMETHOD-ERROR <method> <why>`; then `SMETHODS DONE`.
 * Unlike Go, port 0 is accepted: the port the system picks is the one reported.
 */

import { errorMessage } from "../util/errors.ts";
import { formatTcpAddr, tcpAddrHost } from "../net/addr.ts";
import { encodeSmethodArgs } from "../pt/args.ts";
import type { PtMessages } from "../pt/messages.ts";
import type { ServerPtInfo } from "../pt/server_env.ts";
import { type ServerConfig, type SnowflakeServer, startServer } from "./server.ts";
import type { TlsSetup } from "./tls_config.ts";
import { SNOWFLAKE_METHOD_NAME } from "./tunnel/tor_dialer.ts";
import { parseTransportOptions } from "./transport_options.ts";

/** What every server gets regardless of its bind address. */
export type CommonServerConfig = Omit<ServerConfig, "hostname" | "port" | "tor" | "numTurbotunnel" | "tls">;

/** Starts one server per usable bind address and reports each to tor; returns the servers started. */
export function launchManagedServers(
  info: ServerPtInfo,
  tls: TlsSetup,
  common: CommonServerConfig,
  pt: PtMessages,
): SnowflakeServer[] {
  const servers: SnowflakeServer[] = [];
  for (const bindaddr of info.bindaddrs) {
    if (bindaddr.methodName !== SNOWFLAKE_METHOD_NAME) {
      pt.smethodError(bindaddr.methodName, "no such method");
      continue;
    }
    try {
      const options = parseTransportOptions(bindaddr.options);
      const server = startServer({
        ...common,
        hostname: tcpAddrHost(bindaddr.addr),
        port: bindaddr.addr.port,
        tls: tls.tls,
        numTurbotunnel: options.numTurbotunnel,
        tor: { target: info, srcAddr: options.srcAddr },
      });
      servers.push(server);
      const addr = formatTcpAddr({ ip: bindaddr.addr.ip, port: server.port });
      common.logger.info(
        `listening on ${addr} (${tls.tls ? "wss" : "ws"}, ${options.numTurbotunnel} KCP instance(s))`,
      );
      pt.smethod(SNOWFLAKE_METHOD_NAME, addr, encodeSmethodArgs(tls.args));
    } catch (error) {
      const why = errorMessage(error);
      common.logger.error(`error opening listener: ${why}`);
      pt.smethodError(SNOWFLAKE_METHOD_NAME, why);
    }
  }
  pt.smethodsDone();
  return servers;
}
