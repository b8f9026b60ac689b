/**
 * Test and demo helper: an HTTP/1.0 GET through a SOCKS5 proxy (tor's
 * SocksPort, or a PT client's SOCKS port with its arguments as
 * username/password, as tor sends them), hashing the body as it arrives and
 * timing it: time to first byte, the longest gap between bytes (the stall), and
 * the rate from the first byte to the last.
 *
 * As a program (run where the SOCKS port is, e.g. inside a network namespace),
 * `socks_fetch.ts SOCKS_PORT URL [TIMEOUT_MS] [PT_ARGS]` prints a JSON line
 * `{"progress":N}` every 100 ms of transfer and, at the end, one JSON line with
 * the result (or `error`).
 */

import { createHash } from "node:crypto";

export interface FetchOptions {
  socksPort: number;
  socksHost?: string;
  /** PT arguments (`k=v;k=v`): sent as SOCKS5 username/password, split as tor splits them. */
  ptArgs?: string;
  url: string;
  /** Called with the body bytes received so far, at most every `progressMs`. */
  onProgress?: (bytes: number, total: number | null) => void;
  progressMs?: number;
  signal?: AbortSignal;
}

export interface FetchResult {
  bytes: number;
  /** Content-Length, when the server sent one. */
  expected: number | null;
  sha256: string;
  firstByteMs: number;
  /** The longest time between two reads of body bytes. */
  stallMs: number;
  /** From the first body byte to the last. */
  transferMs: number;
  mbPerSecond: number;
}

/** Reads from `conn` into an accumulating buffer; `need(n)` waits for n bytes. */
class Reader {
  #buffer = new Uint8Array(0);
  constructor(private conn: Deno.Conn) {}
  async fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }
  async need(n: number): Promise<Uint8Array> {
    while (this.#buffer.length < n) {
      if (!await this.fill()) throw new Error(`connection closed (wanted ${n} bytes)`);
    }
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }
  take(): Uint8Array {
    const out = this.#buffer;
    this.#buffer = new Uint8Array(0);
    return out;
  }
  peek(): Uint8Array {
    return this.#buffer;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** SOCKS5 CONNECT to host:port, with username/password when `ptArgs` is given (one message at a time: goptlib refuses pipelining). */
async function socksConnect(conn: Deno.Conn, reader: Reader, host: string, port: number, ptArgs?: string) {
  const expect = async (n: number, want: number[], what: string) => {
    const got = await reader.need(n);
    if (want.some((byte, i) => got[i] !== byte)) throw new Error(`SOCKS ${what} refused: ${[...got]}`);
  };
  await writeAll(conn, new Uint8Array([5, 1, ptArgs === undefined ? 0 : 2]));
  await expect(2, [5, ptArgs === undefined ? 0 : 2], "method");
  if (ptArgs !== undefined) {
    const bytes = new TextEncoder().encode(ptArgs);
    const user = bytes.subarray(0, 255);
    const pass = bytes.length > 255 ? bytes.subarray(255) : new Uint8Array([0]);
    await writeAll(conn, new Uint8Array([1, user.length, ...user, pass.length, ...pass]));
    await expect(2, [1, 0], "authentication");
  }
  const name = new TextEncoder().encode(host);
  await writeAll(conn, new Uint8Array([5, 1, 0, 3, name.length, ...name, port >> 8, port & 0xff]));
  const head = await reader.need(4);
  if (head[0] !== 5 || head[1] !== 0) throw new Error(`SOCKS CONNECT refused: reply code ${head[1]}`);
  const rest = head[3] === 1 ? 6 : head[3] === 4 ? 18 : (await reader.need(1))[0] + 2;
  await reader.need(rest);
}

export async function socksFetch(options: FetchOptions): Promise<FetchResult> {
  const url = new URL(options.url);
  const port = Number(url.port || 80);
  const started = performance.now();
  const conn = await Deno.connect({ hostname: options.socksHost ?? "127.0.0.1", port: options.socksPort });
  const onAbort = () => conn.close();
  options.signal?.addEventListener("abort", onAbort);
  try {
    const reader = new Reader(conn);
    await socksConnect(conn, reader, url.hostname, port, options.ptArgs);
    const request = `GET ${url.pathname}${url.search} HTTP/1.0\r\nHost: ${url.host}\r\n\r\n`;
    await writeAll(conn, new TextEncoder().encode(request));
    // Headers.
    let headerEnd = -1;
    while (true) {
      const text = new TextDecoder("latin1").decode(reader.peek());
      headerEnd = text.indexOf("\r\n\r\n");
      if (headerEnd >= 0) break;
      if (reader.peek().length > 64 * 1024) throw new Error("HTTP header over 64 KiB");
      if (!await reader.fill()) throw new Error("connection closed before the HTTP header ended");
    }
    const header = new TextDecoder("latin1").decode(await reader.need(headerEnd + 4));
    if (!/^HTTP\/1\.[01] 200 /.test(header)) throw new Error(`HTTP: ${header.split("\r\n")[0]}`);
    const length = /\r\ncontent-length: *(\d+)/i.exec(header);
    const expected = length ? Number(length[1]) : null;

    const hash = createHash("sha256");
    let bytes = 0;
    let first = 0;
    let last = 0;
    let stall = 0;
    let reported = 0;
    const progressMs = options.progressMs ?? 100;
    const take = (chunk: Uint8Array) => {
      if (chunk.length === 0) return;
      const now = performance.now();
      if (bytes === 0) first = now;
      else stall = Math.max(stall, now - last);
      last = now;
      bytes += chunk.length;
      hash.update(chunk);
      if (options.onProgress && now - reported >= progressMs) {
        reported = now;
        options.onProgress(bytes, expected);
      }
    };
    take(reader.take());
    while (expected === null || bytes < expected) {
      if (!await reader.fill()) break;
      take(reader.take());
    }
    options.onProgress?.(bytes, expected);
    const transferMs = last - first;
    return {
      bytes,
      expected,
      sha256: hash.digest("hex"),
      firstByteMs: Math.round(first - started),
      stallMs: Math.round(stall),
      transferMs: Math.round(transferMs),
      mbPerSecond: transferMs > 0 ? bytes / 1e6 / (transferMs / 1000) : 0,
    };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    try {
      conn.close();
    } catch { /* closed on abort */ }
  }
}

if (import.meta.main) {
  const [socksPort, url, timeoutArg, ptArgs] = Deno.args;
  const signal = AbortSignal.timeout(Number(timeoutArg ?? 120_000));
  try {
    const result = await socksFetch({
      socksPort: Number(socksPort),
      url,
      ptArgs: ptArgs || undefined,
      signal,
      onProgress: (bytes) => console.log(JSON.stringify({ progress: bytes })),
    });
    console.log(JSON.stringify(result));
  } catch (error) {
    console.log(
      JSON.stringify({ error: signal.aborted ? `timed out after ${timeoutArg} ms` : String(error) }),
    );
  }
  Deno.exit(0);
}
