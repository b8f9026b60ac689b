/**
 * One HTTP/1.1 request over its own connection (`Connection: close`), for
 * rendezvous. We speak HTTP ourselves rather than use `fetch` because domain
 * fronting needs a `Host` header that differs from the host we connect to and
 * the TLS SNI, which `fetch` does not allow (it sends the URL's host), and
 * because every part must be bounded: connect and TLS time, the wait for the
 * reply, the head and the body (a huge body is an error, not memory). No proxy
 * from the environment is used (Go Snowflake disables them too).
 */

import { errorMessage } from "../../util/errors.ts";
import { RendezvousError } from "./errors.ts";
import { Http1Error, type Http1Response, Http1ResponseReader } from "./http1_response.ts";

/** How TCP connections are opened; tests point test names at loopback. */
export type Dial = (hostname: string, port: number) => Promise<Deno.TcpConn>;

const defaultDial: Dial = (hostname, port) => Deno.connect({ hostname, port, transport: "tcp" });

export interface RoundTripRequest {
  method: "GET" | "POST";
  /** Scheme (TLS or not), path and query. */
  url: URL;
  /** Where to connect: the URL's host, or the front. */
  connectHost: string;
  connectPort: number;
  /** The TLS server name (SNI and certificate check). */
  serverName: string;
  /** The `Host` header: the URL's host, also when fronting. */
  hostHeader: string;
  body?: Uint8Array;
}

export interface RoundTripOptions {
  bodyLimit: number;
  /** TCP connect plus TLS handshake. */
  connectTimeoutMs: number;
  /** From the request written to the last body byte. */
  responseTimeoutMs: number;
  caCerts?: string[];
  signal?: AbortSignal;
  dial?: Dial;
}

const READ_CHUNK_BYTES = 16 * 1024;

/** Sends `request` and reads the whole response; throws {@link RendezvousError}. */
export async function roundTrip(
  request: RoundTripRequest,
  options: RoundTripOptions,
): Promise<Http1Response> {
  const dial = options.dial ?? defaultDial;
  let conn: Deno.Conn | undefined;
  let phase: "connect" | "response" = "connect";
  let timedOut = false;
  let aborted = options.signal?.aborted ?? false;
  if (aborted) throw new RendezvousError("network", "aborted");
  const deadline = () =>
    new RendezvousError(
      "timed-out",
      phase === "connect"
        ? `connecting to ${request.connectHost}: timed out after ${options.connectTimeoutMs} ms`
        : `no complete reply from ${request.connectHost} within ${options.responseTimeoutMs} ms`,
    );
  const failed = (error: unknown, what: string) => {
    if (aborted) return new RendezvousError("network", "aborted");
    if (timedOut) return deadline();
    if (error instanceof RendezvousError) return error;
    return new RendezvousError("network", `${what} ${request.connectHost}: ${errorMessage(error)}`);
  };
  const cancel = Promise.withResolvers<never>();
  cancel.promise.catch(() => {});
  let timer = setTimeout(() => {
    timedOut = true;
    cancel.reject(deadline());
    closeQuietly(conn);
  }, options.connectTimeoutMs);
  const onAbort = () => {
    aborted = true;
    cancel.reject(new RendezvousError("network", "aborted"));
    closeQuietly(conn);
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    try {
      const connecting = dial(request.connectHost, request.connectPort);
      connecting.then((late) => {
        if (timedOut || aborted) closeQuietly(late);
      }, () => {});
      const tcp = await Promise.race([connecting, cancel.promise]);
      conn = tcp;
      if (request.url.protocol === "https:") {
        const tls = await Promise.race([
          Deno.startTls(tcp, {
            hostname: request.serverName,
            caCerts: options.caCerts,
            alpnProtocols: ["http/1.1"],
          }),
          cancel.promise,
        ]);
        conn = tls;
        await Promise.race([tls.handshake(), cancel.promise]);
      }
    } catch (error) {
      throw failed(error, "connecting to");
    }
    clearTimeout(timer);
    phase = "response";
    timer = setTimeout(() => {
      timedOut = true;
      cancel.reject(deadline());
      closeQuietly(conn);
    }, options.responseTimeoutMs);
    const reader = new Http1ResponseReader(options.bodyLimit);
    try {
      await writeAll(conn, encodeRequest(request));
      const buf = new Uint8Array(READ_CHUNK_BYTES);
      while (!reader.response) {
        const n = await Promise.race([conn.read(buf), cancel.promise]);
        if (n === null) reader.handleEof();
        else reader.handleInput(buf.subarray(0, n));
      }
    } catch (error) {
      if (error instanceof Http1Error && !timedOut && !aborted) {
        throw new RendezvousError("bad-reply", `reply from ${request.connectHost}: ${error.message}`);
      }
      throw failed(error, "exchanging with");
    }
    return reader.response;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    closeQuietly(conn);
  }
}

/** The request head and body; `Connection: close` so the reply ends with the connection. */
function encodeRequest(request: RoundTripRequest): Uint8Array {
  const lines = [
    `${request.method} ${request.url.pathname}${request.url.search} HTTP/1.1`,
    `Host: ${request.hostHeader}`,
    "User-Agent: Go-http-client/1.1", // as the Go client's net/http, so the broker sees the same
  ];
  if (request.method === "POST") lines.push(`Content-Length: ${request.body?.length ?? 0}`);
  lines.push("Connection: close", "", "");
  const head = new TextEncoder().encode(lines.join("\r\n"));
  if (!request.body?.length) return head;
  const out = new Uint8Array(head.length + request.body.length);
  out.set(head);
  out.set(request.body, head.length);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}
