/**
 * Test support: a STUN server for RFC 5780 NAT behaviour discovery, on two
 * addresses × two ports (127.0.0.1 and 127.0.0.2 on loopback by default; any
 * two local addresses inside a network namespace, e.g. 192.0.2.1 and 192.0.2.3).
 * It answers Binding Requests with XOR-MAPPED-ADDRESS, OTHER-ADDRESS (the
 * socket with the other address and the other port) and RESPONSE-ORIGIN, and
 * honours CHANGE-REQUEST by answering from the changed socket, which is what
 * our `lib/nat` and Debian's Go `snowflake-client` 2.5.1 (pion/stun) test against.
 *
 * To test both outcomes on one host it emulates a NAT in front of the client:
 * - `mapping`: the XOR-MAPPED-ADDRESS it reports. `endpoint-independent` reports
 *   the client's real address; `address-dependent` (and `address-and-port-dependent`)
 *   a port allocated per client and server address (and port), as such a NAT
 *   would map the client, so the Go client and ours conclude `restricted`.
 * - `filtering`: which CHANGE-REQUEST answers "reach" the client: an
 *   `address-dependent` NAT drops those from another IP, an
 *   `address-and-port-dependent` one also those from another port.
 * - `mode: "rfc5389"`: a plain STUN server (no OTHER-ADDRESS; CHANGE-REQUEST is
 *   an unknown comprehension-required attribute: 420); `"silent"`: never answers.
 *
 * In-process: `const stun = await startStunServer({ mapping: "address-dependent" })`,
 * then `stun.url`. As a subprocess (inside a namespace):
 * `deno run -A tests/support/stun_server.ts --hostnames 192.0.2.1,192.0.2.3 [--ports 3478,3479]
 * [--mapping …] [--filtering …] [--mode …] [--until-stdin-closes]` prints the `stun:` URL on one line
 * and serves until SIGTERM or SIGINT (or, with `--until-stdin-closes`, until its stdin closes: a parent
 * that dies takes it along).
 */

import { formatTcpAddr, parseIp, type TcpAddr } from "../../lib/net/addr.ts";
import {
  ATTR_CHANGE_REQUEST,
  ATTR_ERROR_CODE,
  ATTR_OTHER_ADDRESS,
  ATTR_RESPONSE_ORIGIN,
  ATTR_SOFTWARE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_XOR_MAPPED_ADDRESS,
  decodeStunMessage,
  encodeStunMessageBytes,
  findAttribute,
  STUN_BINDING_ERROR,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  type StunAttribute,
  type StunMessage,
} from "../../lib/nat/stun_message.ts";
import {
  CHANGE_IP,
  CHANGE_PORT,
  decodeChangeRequest,
  encodeAddress,
  encodeErrorCode,
  encodeXorAddress,
} from "../../lib/nat/stun_attributes.ts";

export type EmulatedBehavior = "endpoint-independent" | "address-dependent" | "address-and-port-dependent";

export interface StunServerOptions {
  /** Primary and alternate address. Default 127.0.0.1 and 127.0.0.2. */
  hostnames?: [string, string];
  /** Primary and alternate port, each bound on both addresses. Default: free ports. */
  ports?: [number, number];
  mapping?: EmulatedBehavior;
  filtering?: EmulatedBehavior;
  mode?: "rfc5780" | "rfc5389" | "silent";
}

export interface TestStunServer {
  /** `stun:<primary address>:<primary port>`. */
  readonly url: string;
  readonly primary: string;
  /** The OTHER-ADDRESS of the primary socket. */
  readonly other: string;
  /** Binding Requests received, on any socket. */
  readonly requests: number;
  /** Of those, how many carried CHANGE-REQUEST. */
  readonly changeRequests: number;
  close(): void;
}

const SOFTWARE = new TextEncoder().encode("snowflake-deno test STUN server");
/** Emulated NAT ports are allocated from here up. */
const FIRST_EMULATED_PORT = 20_000;

/** Starts the four sockets; throws if the addresses cannot be bound. */
export async function startStunServer(options: StunServerOptions = {}): Promise<TestStunServer> {
  const hostnames = options.hostnames ?? ["127.0.0.1", "127.0.0.2"];
  const mapping = options.mapping ?? "endpoint-independent";
  const filtering = options.filtering ?? "endpoint-independent";
  const mode = options.mode ?? "rfc5780";
  // sockets[ip][port]
  const sockets = bindSockets(hostnames, options.ports);
  const addrOf = (i: number, j: number): TcpAddr => ({
    ip: parseIp(hostnames[i])!,
    port: (sockets[i][j].addr as Deno.NetAddr).port,
  });
  const emulatedPorts = new Map<string, number>();
  let nextPort = FIRST_EMULATED_PORT;
  let requests = 0, changeRequests = 0;

  const mapped = (client: Deno.NetAddr, i: number, j: number): TcpAddr => {
    const ip = parseIp(client.hostname)!;
    if (mapping === "endpoint-independent") return { ip, port: client.port };
    const key = `${client.hostname}|${client.port}|${i}|${mapping === "address-and-port-dependent" ? j : 0}`;
    let port = emulatedPorts.get(key);
    if (port === undefined) emulatedPorts.set(key, port = nextPort++);
    return { ip, port };
  };

  const answer = (
    request: StunMessage,
    client: Deno.NetAddr,
    i: number,
    j: number,
  ): [Uint8Array, number, number] | null => {
    const change = findAttribute(request, ATTR_CHANGE_REQUEST);
    if (change) changeRequests++;
    if (mode === "rfc5389" && change) {
      return [
        encodeStunMessageBytes({
          type: STUN_BINDING_ERROR,
          transactionId: request.transactionId,
          attributes: [
            { type: ATTR_ERROR_CODE, value: encodeErrorCode({ code: 420, reason: "Unknown Attribute" }) },
            { type: ATTR_UNKNOWN_ATTRIBUTES, value: new Uint8Array([0, ATTR_CHANGE_REQUEST]) },
          ],
          fingerprint: true,
        }),
        i,
        j,
      ];
    }
    const flags = change ? decodeChangeRequest(change) : 0;
    const [ri, rj] = [flags & CHANGE_IP ? 1 - i : i, flags & CHANGE_PORT ? 1 - j : j];
    if (filtering === "address-dependent" && ri !== i) return null;
    if (filtering === "address-and-port-dependent" && (ri !== i || rj !== j)) return null;
    const attributes: StunAttribute[] = [
      { type: ATTR_XOR_MAPPED_ADDRESS, value: encodeXorAddress(mapped(client, i, j), request.transactionId) },
    ];
    if (mode === "rfc5780") {
      attributes.push(
        { type: ATTR_RESPONSE_ORIGIN, value: encodeAddress(addrOf(ri, rj)) },
        { type: ATTR_OTHER_ADDRESS, value: encodeAddress(addrOf(1 - i, 1 - j)) },
      );
    }
    attributes.push({ type: ATTR_SOFTWARE, value: SOFTWARE });
    const response = encodeStunMessageBytes({
      type: STUN_BINDING_SUCCESS,
      transactionId: request.transactionId,
      attributes,
      fingerprint: true,
    });
    return [response, ri, rj];
  };

  const serve = async (i: number, j: number) => {
    const conn = sockets[i][j];
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await conn.receive();
      } catch {
        return; // closed
      }
      let request: StunMessage;
      try {
        [request] = decodeStunMessage(data);
      } catch {
        continue; // not STUN: dropped
      }
      if (request.type !== STUN_BINDING_REQUEST) continue;
      requests++;
      if (mode === "silent") continue;
      let reply: [Uint8Array, number, number] | null;
      try {
        reply = answer(request, from as Deno.NetAddr, i, j);
      } catch {
        continue; // a malformed CHANGE-REQUEST: dropped
      }
      if (!reply) continue;
      const [response, ri, rj] = reply;
      await sockets[ri][rj].send(response, from).catch(() => {});
    }
  };
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) serve(i, j);
  await Promise.resolve();

  const primary = formatTcpAddr(addrOf(0, 0));
  return {
    url: `stun:${primary}`,
    primary,
    other: formatTcpAddr(addrOf(1, 1)),
    get requests() {
      return requests;
    },
    get changeRequests() {
      return changeRequests;
    },
    close() {
      for (const row of sockets) for (const conn of row) conn.close();
    },
  };
}

/** Binds [address][port]: the same two port numbers on both addresses, retrying when a free port is taken on the other. */
function bindSockets(hostnames: [string, string], ports?: [number, number]): Deno.DatagramConn[][] {
  const listen = (hostname: string, port: number) =>
    Deno.listenDatagram({ transport: "udp", hostname, port });
  const column = (port: number): Deno.DatagramConn[] => {
    for (let attempt = 0;; attempt++) {
      const first = listen(hostnames[0], port);
      try {
        return [first, listen(hostnames[1], (first.addr as Deno.NetAddr).port)];
      } catch (error) {
        first.close();
        if (port !== 0 || attempt >= 20) throw error;
      }
    }
  };
  const columns = [column(ports?.[0] ?? 0), column(ports?.[1] ?? 0)];
  return [[columns[0][0], columns[1][0]], [columns[0][1], columns[1][1]]];
}

async function main(args: string[]): Promise<number> {
  const options: StunServerOptions = {};
  let untilStdinCloses = false;
  for (let k = 0; k < args.length; k += 2) {
    const [flag, value] = [args[k].replace(/^--?/, ""), args[k + 1]];
    if (flag === "until-stdin-closes") {
      untilStdinCloses = true;
      k--;
      continue;
    }
    if (value === undefined) throw new Error(`flag ${args[k]} needs a value`);
    if (flag === "hostnames") options.hostnames = value.split(",") as [string, string];
    else if (flag === "ports") options.ports = value.split(",").map(Number) as [number, number];
    else if (flag === "mapping") options.mapping = value as EmulatedBehavior;
    else if (flag === "filtering") options.filtering = value as EmulatedBehavior;
    else if (flag === "mode") options.mode = value as StunServerOptions["mode"];
    else throw new Error(`unknown flag ${args[k]}`);
  }
  const server = await startStunServer(options);
  console.log(server.url);
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stop.resolve());
  Deno.addSignalListener("SIGINT", () => stop.resolve());
  if (untilStdinCloses) {
    (async () => {
      for await (const _ of Deno.stdin.readable) { /* until EOF */ }
      stop.resolve();
    })();
  }
  await stop.promise;
  server.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
