/**
 * The server side of SOCKS5 as a Tor PT client speaks it (SNOWFLAKE-PROTOCOL.md
 * §9; RFC 1928, RFC 1929), as a sans-I/O machine following goptlib's `socks.go`:
 *
 * ```
 * client → us   05 NMETHODS METHODS…            we pick 02 (username/password) over 00 (none)
 * us → client   05 METHOD                        FF when neither is offered, then close
 * client → us   01 ULEN UNAME PLEN PASSWD        (only after 02) ULEN, PLEN ≥ 1
 * us → client   01 00 | 01 01                    01 01 on a bad version or bad PT arguments
 * client → us   05 CMD 00 ATYP DST.ADDR DST.PORT ATYP 01 IPv4, 03 name (LEN ≥ 1), 04 IPv6
 * us → client   05 REP 00 01 00000000 0000       REP 07 for a CMD other than CONNECT (01),
 *                                                08 for an unknown ATYP, 01 for other faults
 * ```
 * PT arguments are the username and password concatenated (the password is
 * ignored when it is the single NUL byte tor sends when the arguments fit in
 * the username), parsed as client parameters (`k=v;k=v`, `\` escapes).
 * As goptlib, a client must wait for each answer: bytes beyond a message are
 * an error. After `request`, the caller answers with {@link encodeSocksReply}.
 *
 * Feed bytes to {@link SocksServerMachine.handleInput}; after each call send
 * every {@link SocksServerMachine.pollTransmit} and read {@link SocksServerMachine.pollEvent}
 * until null. After an `error` event, send what is queued and close.
 */

import { errorMessage } from "../util/errors.ts";
import { formatIp } from "../net/addr.ts";
import { parseClientParameters, type PtArgs, PtArgsError } from "./args.ts";

const SOCKS_VERSION = 0x05;
const AUTH_NONE = 0x00;
const AUTH_USERNAME_PASSWORD = 0x02;
const AUTH_NO_ACCEPTABLE = 0xff;
const RFC1929_VERSION = 0x01;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SocksReply = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;
/** One of the {@link SocksReply} codes. */
export type SocksReply = typeof SocksReply[keyof typeof SocksReply];

/** Malformed or unsupported SOCKS input; `reply` is the code sent back, if any. */
export class SocksError extends Error {
  /** Always `"SocksError"`. */
  override name = "SocksError";
  /** `reply`: the code sent to the client, when the protocol had one for this fault. */
  constructor(message: string, readonly reply?: SocksReply) {
    super(message);
  }
}

/** A complete CONNECT request. */
export interface SocksRequestFields {
  /** `host:port`, `[v6]:port`, as goptlib formats it. */
  target: string;
  /** The RFC 1929 username (empty without authentication). */
  username: string;
  /** Empty when the client sent tor's single-NUL placeholder. */
  password: string;
  /** The PT arguments: username and password joined, parsed as client parameters. */
  args: PtArgs;
}

/** The machine's one event: a complete request, or why the handshake failed. */
export type SocksEvent =
  | { type: "request"; request: SocksRequestFields }
  | { type: "error"; error: SocksError };

/** The 10-byte reply with BND.ADDR 0.0.0.0:0 (tor ignores it; goptlib sends the same). */
export function encodeSocksReply(code: SocksReply): Uint8Array {
  return new Uint8Array([SOCKS_VERSION, code, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}

type Phase = "methods" | "auth" | "request" | "done" | "failed";

/** The server side of the SOCKS5 handshake as a sans-I/O machine (see the module doc). */
export class SocksServerMachine {
  #phase: Phase = "methods";
  #input = new Uint8Array(0);
  #transmit: Uint8Array[] = [];
  #events: SocksEvent[] = [];
  #username = "";
  #password = "";
  #args: PtArgs | null = null;

  /** True after the request or an error: no more input is read. */
  get finished(): boolean {
    return this.#phase === "done" || this.#phase === "failed";
  }

  /** Bytes from the client. */
  handleInput(bytes: Uint8Array): void {
    if (this.finished) return;
    const joined = new Uint8Array(this.#input.length + bytes.length);
    joined.set(this.#input);
    joined.set(bytes, this.#input.length);
    this.#input = joined;
    while (!this.finished) {
      const used = this.#step(this.#input);
      if (used === 0) return; // need more bytes
      this.#input = this.#input.subarray(used);
      if (this.finished) break;
      if (this.#input.length > 0) {
        // goptlib's socksFlushBuffers: the client must wait for our answer.
        return this.#fail(new SocksError(`${this.#input.length} bytes left after SOCKS message`));
      }
    }
    if (this.#phase === "done" && this.#input.length > 0) {
      this.#events = [];
      this.#fail(new SocksError(`${this.#input.length} bytes left after SOCKS message`));
    }
  }

  /** The client closed before a complete request. */
  handleEof(): void {
    if (!this.finished) this.#fail(new SocksError("EOF before a complete SOCKS request"));
  }

  /** The next bytes to send to the client, or null. */
  pollTransmit(): Uint8Array | null {
    return this.#transmit.shift() ?? null;
  }

  /** The request or the error once there, or null. */
  pollEvent(): SocksEvent | null {
    return this.#events.shift() ?? null;
  }

  /** Consumes one message from `buf`; returns its length, or 0 when incomplete. */
  #step(buf: Uint8Array): number {
    switch (this.#phase) {
      case "methods":
        return this.#methods(buf);
      case "auth":
        return this.#auth(buf);
      case "request":
        return this.#request(buf);
      default:
        return 0;
    }
  }

  #methods(buf: Uint8Array): number {
    if (buf.length < 1) return 0;
    if (buf[0] !== SOCKS_VERSION) {
      this.#fail(fieldError("version", buf[0], SOCKS_VERSION));
      return 0;
    }
    if (buf.length < 2 || buf.length < 2 + buf[1]) return 0;
    const methods = buf.subarray(2, 2 + buf[1]);
    let method = AUTH_NO_ACCEPTABLE;
    if (methods.includes(AUTH_USERNAME_PASSWORD)) method = AUTH_USERNAME_PASSWORD;
    else if (methods.includes(AUTH_NONE)) method = AUTH_NONE;
    this.#transmit.push(new Uint8Array([SOCKS_VERSION, method]));
    if (method === AUTH_NO_ACCEPTABLE) {
      this.#fail(new SocksError("SOCKS method select had no compatible methods"));
      return 2 + buf[1];
    }
    if (method === AUTH_NONE) this.#args = parseClientParameters("");
    this.#phase = method === AUTH_USERNAME_PASSWORD ? "auth" : "request";
    return 2 + buf[1];
  }

  #auth(buf: Uint8Array): number {
    const refuse = (error: SocksError) => {
      this.#transmit.push(new Uint8Array([RFC1929_VERSION, 0x01]));
      this.#fail(error);
      return 0;
    };
    if (buf.length < 1) return 0;
    if (buf[0] !== RFC1929_VERSION) return refuse(fieldError("auth version", buf[0], RFC1929_VERSION));
    if (buf.length < 2) return 0;
    const ulen = buf[1];
    if (ulen < 1) return refuse(new SocksError("RFC1929 username with 0 length"));
    if (buf.length < 3 + ulen) return 0;
    const plen = buf[2 + ulen];
    if (plen < 1) return refuse(new SocksError("RFC1929 password with 0 length"));
    const end = 3 + ulen + plen;
    if (buf.length < end) return 0;
    const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);
    const decoder = new TextDecoder();
    const username = buf.subarray(2, 2 + ulen);
    const password = buf.subarray(3 + ulen, end);
    const passwordIsPlaceholder = plen === 1 && password[0] === 0x00;
    // Arguments are bytes in Go; join the raw bytes so a UTF-8 sequence split across the two fields survives.
    const joined = new Uint8Array(ulen + (passwordIsPlaceholder ? 0 : plen));
    joined.set(username);
    if (!passwordIsPlaceholder) joined.set(password, ulen);
    this.#username = decoder.decode(username);
    this.#password = passwordIsPlaceholder ? "" : decoder.decode(password);
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(joined);
      this.#args = parseClientParameters(text);
    } catch (error) {
      if (error instanceof PtArgsError) return refuse(new SocksError(error.message));
      // Not UTF-8: parse the bytes one char each, as Go would see them.
      try {
        this.#args = parseClientParameters(latin1(joined));
      } catch (inner) {
        return refuse(new SocksError(errorMessage(inner)));
      }
    }
    this.#transmit.push(new Uint8Array([RFC1929_VERSION, 0x00]));
    this.#phase = "request";
    return end;
  }

  #request(buf: Uint8Array): number {
    const reject = (error: SocksError) => {
      if (error.reply !== undefined) this.#transmit.push(encodeSocksReply(error.reply));
      this.#fail(error);
      return 0;
    };
    if (buf.length < 1) return 0;
    if (buf[0] !== SOCKS_VERSION) {
      return reject(fieldError("version", buf[0], SOCKS_VERSION, SocksReply.generalFailure));
    }
    if (buf.length < 2) return 0;
    if (buf[1] !== CMD_CONNECT) {
      return reject(fieldError("command", buf[1], CMD_CONNECT, SocksReply.commandNotSupported));
    }
    if (buf.length < 3) return 0;
    if (buf[2] !== 0x00) return reject(fieldError("reserved", buf[2], 0x00, SocksReply.generalFailure));
    if (buf.length < 4) return 0;
    let host: string, at: number;
    switch (buf[3]) {
      case ATYP_IPV4:
        if (buf.length < 4 + 4 + 2) return 0;
        host = formatIp(buf.subarray(4, 8));
        at = 8;
        break;
      case ATYP_DOMAIN: {
        if (buf.length < 5) return 0;
        const length = buf[4];
        if (length === 0) {
          return reject(
            new SocksError("SOCKS request had domain name with 0 length", SocksReply.generalFailure),
          );
        }
        if (buf.length < 5 + length + 2) return 0;
        host = new TextDecoder().decode(buf.subarray(5, 5 + length));
        at = 5 + length;
        break;
      }
      case ATYP_IPV6:
        if (buf.length < 4 + 16 + 2) return 0;
        host = `[${formatIp(buf.subarray(4, 20))}]`;
        at = 20;
        break;
      default:
        return reject(
          new SocksError(
            `SOCKS request had unsupported address type 0x${hex2(buf[3])}`,
            SocksReply.addressTypeNotSupported,
          ),
        );
    }
    const port = (buf[at] << 8) | buf[at + 1];
    this.#phase = "done";
    this.#events.push({
      type: "request",
      request: {
        target: `${host}:${port}`,
        username: this.#username,
        password: this.#password,
        args: this.#args!,
      },
    });
    return at + 2;
  }

  #fail(error: SocksError): void {
    this.#phase = "failed";
    this.#events.push({ type: "error", error });
  }
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function fieldError(field: string, got: number, want: number, reply?: SocksReply): SocksError {
  return new SocksError(`SOCKS message field ${field} was 0x${hex2(got)}, not 0x${hex2(want)}`, reply);
}
