/**
 * An HTTP/1.1 response reader as a sans-I/O machine (RFC 9112), for the one
 * request per connection the rendezvous makes (`Connection: close`): the
 * status line and headers, then a body framed by `Transfer-Encoding: chunked`,
 * by `Content-Length`, or by the end of the connection. Interim 1xx responses
 * are skipped. Bounded: the head to {@link HTTP1_HEAD_LIMIT_BYTES}, the body to
 * the limit given (Go Snowflake reads at most 100000 bytes of a broker reply);
 * past a bound it fails instead of buffering.
 *
 * Feed bytes with {@link Http1ResponseReader.handleInput} and the end of the
 * stream with {@link Http1ResponseReader.handleEof}; `response` is set once the
 * body is complete. Malformed input throws {@link Http1Error}.
 */

/** Status line plus headers. */
export const HTTP1_HEAD_LIMIT_BYTES = 64 * 1024;

/** A response that is not HTTP/1.x, is malformed, or exceeds a bound. */
export class Http1Error extends Error {
  override name = "Http1Error";
  constructor(message: string, readonly tooLarge = false) {
    super(message);
  }
}

export interface Http1Response {
  status: number;
  statusText: string;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: Uint8Array;
}

type Phase =
  | "head"
  | "body-length"
  | "body-eof"
  | "chunk-size"
  | "chunk-data"
  | "chunk-crlf"
  | "trailer"
  | "done";

export class Http1ResponseReader {
  readonly #bodyLimit: number;
  #phase: Phase = "head";
  /** Received bytes not yet consumed: `#store[#start, #end)`, grown by doubling so a trickle costs linear time. */
  #store = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #status = 0;
  #statusText = "";
  #headers = new Map<string, string>();
  #body: Uint8Array[] = [];
  #bodyLength = 0;
  #remaining = 0;
  #response: Http1Response | null = null;
  /** Bytes of `#buffer` already searched for a line end: a trickling peer costs linear time, not quadratic. */
  #scanned = 0;

  constructor(bodyLimit: number) {
    this.#bodyLimit = bodyLimit;
  }

  /** The complete response, or null while more bytes are needed. */
  get response(): Http1Response | null {
    return this.#response;
  }

  /** The status line and headers once read (the body may still be coming). */
  get head(): { status: number; headers: Map<string, string> } | null {
    return this.#phase === "head" ? null : { status: this.#status, headers: this.#headers };
  }

  handleInput(bytes: Uint8Array): void {
    if (this.#phase === "done") return;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end + bytes.length > this.#store.length) {
      const live = this.#end - this.#start;
      const store = new Uint8Array(Math.max(live + bytes.length, 2 * live, 4096));
      store.set(this.#store.subarray(this.#start, this.#end));
      [this.#store, this.#start, this.#end] = [store, 0, live];
    }
    this.#store.set(bytes, this.#end);
    this.#end += bytes.length;
    while (!this.#done() && this.#step()) { /* progress */ }
  }

  /** The server closed the connection. */
  handleEof(): void {
    if (this.#phase === "done") return;
    if (this.#phase === "body-eof") return this.#finish();
    throw new Http1Error(
      this.#phase === "head" ? "connection closed before the response head" : "connection closed mid-body",
    );
  }

  /** The unconsumed bytes (a view). */
  get #buffer(): Uint8Array {
    return this.#store.subarray(this.#start, this.#end);
  }

  #consume(n: number): void {
    this.#start += n;
  }

  #done(): boolean {
    return this.#phase === "done";
  }

  /** One step; false when more input is needed. */
  #step(): boolean {
    switch (this.#phase) {
      case "head":
        return this.#readHead();
      case "body-length": {
        const take = Math.min(this.#remaining, this.#buffer.length);
        if (take === 0) return false;
        this.#append(this.#buffer.subarray(0, take));
        this.#consume(take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#finish();
        return true;
      }
      case "body-eof":
        if (this.#buffer.length === 0) return false;
        this.#append(this.#buffer);
        this.#consume(this.#end - this.#start);
        return false;
      case "chunk-size": {
        const line = this.#takeLine(1024);
        if (line === null) return false;
        const size = line.split(";")[0].trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(size)) {
          throw new Http1Error(`bad chunk size line ${JSON.stringify(line)}`);
        }
        this.#remaining = parseInt(size, 16);
        this.#phase = this.#remaining === 0 ? "trailer" : "chunk-data";
        if (this.#bodyLength + this.#remaining > this.#bodyLimit) this.#tooLarge();
        return true;
      }
      case "chunk-data": {
        const take = Math.min(this.#remaining, this.#buffer.length);
        if (take === 0) return false;
        this.#append(this.#buffer.subarray(0, take));
        this.#consume(take);
        this.#remaining -= take;
        if (this.#remaining === 0) this.#phase = "chunk-crlf";
        return true;
      }
      case "chunk-crlf": {
        const line = this.#takeLine(2);
        if (line === null) return false;
        if (line !== "") throw new Http1Error("chunk data not followed by CRLF");
        this.#phase = "chunk-size";
        return true;
      }
      case "trailer": {
        const line = this.#takeLine(HTTP1_HEAD_LIMIT_BYTES);
        if (line === null) return false;
        if (line === "") this.#finish();
        return true;
      }
      default:
        return false;
    }
  }

  #readHead(): boolean {
    const end = indexOfHeadEnd(this.#buffer, Math.max(0, this.#scanned - 3));
    this.#scanned = this.#buffer.length;
    if (end < 0) {
      if (this.#buffer.length > HTTP1_HEAD_LIMIT_BYTES) {
        throw new Http1Error(`response head over ${HTTP1_HEAD_LIMIT_BYTES} bytes`, true);
      }
      return false;
    }
    const text = new TextDecoder("latin1").decode(this.#buffer.subarray(0, end));
    this.#consume(end + 4);
    this.#scanned = 0;
    const [statusLine, ...lines] = text.split("\r\n");
    const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!match) {
      throw new Http1Error(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
    }
    const status = Number(match[1]);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) {
        throw new Http1Error(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      }
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
    if (status < 200) return true; // interim (100 Continue, 103): the real response follows
    this.#status = status;
    this.#statusText = match[2] ?? "";
    this.#headers = headers;
    const transferEncoding = headers.get("transfer-encoding");
    const contentLength = headers.get("content-length");
    if (status === 204 || status === 304) {
      this.#finish();
    } else if (transferEncoding !== undefined) {
      if (transferEncoding.toLowerCase().split(",").map((s) => s.trim()).at(-1) !== "chunked") {
        throw new Http1Error(`unsupported Transfer-Encoding ${JSON.stringify(transferEncoding)}`);
      }
      this.#phase = "chunk-size";
    } else if (contentLength !== undefined) {
      if (!/^\d{1,15}$/.test(contentLength)) {
        throw new Http1Error(`bad Content-Length ${JSON.stringify(contentLength)}`);
      }
      this.#remaining = Number(contentLength);
      if (this.#remaining > this.#bodyLimit) this.#tooLarge();
      this.#phase = "body-length";
      if (this.#remaining === 0) this.#finish();
    } else {
      this.#phase = "body-eof";
    }
    return true;
  }

  /** A CRLF-terminated line without its CRLF, or null; throws past `limit` bytes. */
  #takeLine(limit: number): string | null {
    for (let i = Math.max(0, this.#scanned - 1); i + 1 < this.#buffer.length && i <= limit; i++) {
      if (this.#buffer[i] === 0x0d && this.#buffer[i + 1] === 0x0a) {
        const line = new TextDecoder("latin1").decode(this.#buffer.subarray(0, i));
        this.#consume(i + 2);
        this.#scanned = 0;
        return line;
      }
    }
    this.#scanned = this.#buffer.length;
    if (this.#buffer.length > limit + 2) throw new Http1Error("line too long in a chunked body");
    return null;
  }

  #append(bytes: Uint8Array): void {
    if (this.#bodyLength + bytes.length > this.#bodyLimit) this.#tooLarge();
    this.#body.push(bytes.slice());
    this.#bodyLength += bytes.length;
  }

  #tooLarge(): never {
    throw new Http1Error(`response body over ${this.#bodyLimit} bytes`, true);
  }

  #finish(): void {
    const body = new Uint8Array(this.#bodyLength);
    let at = 0;
    for (const part of this.#body) {
      body.set(part, at);
      at += part.length;
    }
    this.#phase = "done";
    this.#response = { status: this.#status, statusText: this.#statusText, headers: this.#headers, body };
  }
}

function indexOfHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = from; i + 3 < buf.length; i++) {
    if (buf[i] === 0x0d && buf[i + 1] === 0x0a && buf[i + 2] === 0x0d && buf[i + 3] === 0x0a) return i;
  }
  return -1;
}
