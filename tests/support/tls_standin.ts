/**
 * Test support: TLS servers on loopback with a throwaway CA, for rendezvous
 * tests (broker, domain-fronting CDN, AMP cache stand-ins).
 * - `createTestCa(names)`: openssl makes a CA and one leaf certificate for all
 *   `names` (DNS names, `*.x` wildcards, IP literals) in a temp directory.
 * - `startTlsStandIn({ tls, handler })`: `Deno.serve` over TLS behind a small
 *   TCP front that reads each connection's ClientHello to record the SNI it
 *   asked for, so handlers can check SNI and `Host` (a fronting CDN routes on
 *   `Host`, the censor sees only SNI). `handler` gets the request and the SNI.
 */

import { run } from "../util/netns.ts";

export interface TestCa {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A CA and a leaf certificate for `names`, made with openssl. */
export async function createTestCa(names: string[]): Promise<TestCa> {
  const dir = await Deno.makeTempDir({ prefix: "test-ca-" });
  try {
    const san = names.map((name) => /^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`).join(",");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=snowflake test CA",
      "-keyout",
      `${dir}/ca.key`,
      "-out",
      `${dir}/ca.pem`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await run("openssl", [
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      "/CN=stand-in",
      "-keyout",
      `${dir}/leaf.key`,
      "-out",
      `${dir}/leaf.csr`,
    ]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      `${dir}/leaf.csr`,
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${dir}/leaf.ext`,
      "-out",
      `${dir}/leaf.pem`,
    ]);
    return {
      caPem: await Deno.readTextFile(`${dir}/ca.pem`),
      certPem: await Deno.readTextFile(`${dir}/leaf.pem`),
      keyPem: await Deno.readTextFile(`${dir}/leaf.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export type StandInHandler = (request: Request, sni: string | null) => Response | Promise<Response>;

export interface TlsStandIn {
  port: number;
  /** The SNI of every connection, in order (null: none sent). */
  readonly snis: (string | null)[];
  close(): Promise<void>;
}

/** Starts a TLS HTTP server on 127.0.0.1 whose handler sees each connection's SNI. */
export function startTlsStandIn(options: { tls: TestCa; handler: StandInHandler }): TlsStandIn {
  const snis: (string | null)[] = [];
  const sniByInnerPort = new Map<number, string | null>();
  const controller = new AbortController();
  const inner = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: options.tls.certPem,
    key: options.tls.keyPem,
    signal: controller.signal,
    onListen() {},
  }, (request, info) => options.handler(request, sniByInnerPort.get(info.remoteAddr.port) ?? null));
  const outer = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const forward = async (client: Deno.Conn) => {
    conns.add(client);
    let upstream: Deno.TcpConn | undefined;
    try {
      const hello = await readClientHello(client);
      const sni = hello ? parseSni(hello) : null;
      snis.push(sni);
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: inner.addr.port });
      conns.add(upstream);
      sniByInnerPort.set((upstream.localAddr as Deno.NetAddr).port, sni);
      if (hello) await upstream.write(hello);
      await Promise.all([
        client.readable.pipeTo(upstream.writable).catch(() => {}),
        upstream.readable.pipeTo(client.writable).catch(() => {}),
      ]);
    } catch {
      // a client that hung up mid-handshake
    } finally {
      for (const conn of [client, upstream]) {
        if (!conn) continue;
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed by pipeTo */ }
      }
    }
  };
  const accepting = (async () => {
    for await (const client of outer) forward(client);
  })().catch(() => {});
  return {
    port: (outer.addr as Deno.NetAddr).port,
    snis,
    async close() {
      outer.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      controller.abort();
      await inner.finished;
      await accepting;
    },
  };
}

/** The first TLS record (a ClientHello), or null if the client sent something shorter. */
async function readClientHello(conn: Deno.Conn): Promise<Uint8Array | null> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  while (buf.length < 5 || buf.length < 5 + ((buf[3] << 8) | buf[4])) {
    const n = await conn.read(chunk);
    if (n === null) return buf.length ? buf : null;
    const joined = new Uint8Array(buf.length + n);
    joined.set(buf);
    joined.set(chunk.subarray(0, n), buf.length);
    buf = joined;
    if (buf.length > 64 * 1024) break;
  }
  return buf;
}

/** The server_name of a ClientHello record (RFC 8446 §4.1.2, RFC 6066 §3), or null. */
export function parseSni(record: Uint8Array): string | null {
  try {
    if (record[0] !== 22 || record[5] !== 1) return null; // handshake, client_hello
    let at = 5 + 4 + 2 + 32; // record header, handshake header, version, random
    at += 1 + record[at]; // session id
    at += 2 + ((record[at] << 8) | record[at + 1]); // cipher suites
    at += 1 + record[at]; // compression methods
    const end = at + 2 + ((record[at] << 8) | record[at + 1]);
    at += 2;
    while (at + 4 <= end) {
      const type = (record[at] << 8) | record[at + 1];
      const length = (record[at + 2] << 8) | record[at + 3];
      if (type === 0) {
        const nameLength = (record[at + 7] << 8) | record[at + 8];
        return new TextDecoder().decode(record.subarray(at + 9, at + 9 + nameLength));
      }
      at += 4 + length;
    }
  } catch {
    // truncated
  }
  return null;
}
