/**
 * The client side of tor's Extended ORPort handshake as a sans-I/O machine
 * (SNOWFLAKE-PROTOCOL.md §9.9): SAFE_COOKIE authentication, then the
 * `USERADDR`, `TRANSPORT` and `DONE` commands, then tor's `OKAY`.
 *
 * ```
 * tor → PT   auth types, one byte each, ending 00 (must include 01)
 * PT → tor   01, ClientNonce (32)
 * tor → PT   ServerHash (32), ServerNonce (32)   — verified, else abort
 * PT → tor   ClientHash (32)
 * tor → PT   status (1): 01 = success
 * PT → tor   [USERADDR] [TRANSPORT] DONE          — CMD u16 BE, LEN u16 BE, BODY
 * tor → PT   one command: OKAY (0x1000) = proceed; DENY (0x1001) or other = fail
 * ```
 * Feed bytes from tor to {@link ExtOrPortHandshake.handleInput}; after any
 * call, send everything {@link ExtOrPortHandshake.pollTransmit} returns. When
 * `done`, `leftover` holds bytes tor sent after `OKAY` (the OR protocol).
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { concat } from "../util/bytes.ts";

export const EXT_OR_CMD_DONE = 0x0000;
export const EXT_OR_CMD_USERADDR = 0x0001;
export const EXT_OR_CMD_TRANSPORT = 0x0002;
export const EXT_OR_CMD_OKAY = 0x1000;
export const EXT_OR_CMD_DENY = 0x1001;
/** The one authentication type we speak. */
export const EXT_OR_AUTH_SAFE_COOKIE = 0x01;
export const EXT_OR_NONCE_LENGTH = 32;
/** goptlib reads at most 256 auth-type bytes before giving up on the terminator. */
const MAX_AUTH_TYPES = 256;

export const SERVER_HASH_CONTEXT = "ExtORPort authentication server-to-client hash";
export const CLIENT_HASH_CONTEXT = "ExtORPort authentication client-to-server hash";

/** The handshake failed: tor refused us, or tor's side did not prove it knows the cookie. */
export class ExtOrPortError extends Error {
  override name = "ExtOrPortError";
}

/** HMAC-SHA256(cookie, context ‖ clientNonce ‖ serverNonce). */
export function extOrPortHash(
  cookie: Uint8Array,
  context: string,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
): Uint8Array {
  const hmac = createHmac("sha256", cookie);
  hmac.update(context);
  hmac.update(clientNonce);
  hmac.update(serverNonce);
  return new Uint8Array(hmac.digest());
}

/** `CMD (u16 BE) ‖ LEN (u16 BE) ‖ BODY`; throws RangeError for a body over 65535 bytes. */
export function encodeExtOrCommand(cmd: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (body.length > 0xffff) throw new RangeError(`body length ${body.length} exceeds maximum of 65535`);
  const out = new Uint8Array(4 + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, cmd);
  view.setUint16(2, body.length);
  out.set(body, 4);
  return out;
}

export interface ExtOrPortHandshakeOptions {
  /** The 32-byte cookie from tor's cookie file. */
  cookie: Uint8Array;
  /** 32 random bytes; tests pass fixed ones. */
  clientNonce: Uint8Array;
  /** `USERADDR` body, e.g. `1.2.3.4:1`; omitted when empty. */
  userAddr?: string;
  /** `TRANSPORT` body, e.g. `snowflake`; omitted when empty. */
  transport?: string;
}

type Phase = "auth-types" | "server-hash" | "status" | "reply" | "done";

export class ExtOrPortHandshake {
  readonly #options: ExtOrPortHandshakeOptions;
  #phase: Phase = "auth-types";
  #input: Uint8Array = new Uint8Array(0);
  #authTypes = new Set<number>();
  #authTypeCount = 0;
  #transmit: Uint8Array[] = [];
  #leftover: Uint8Array = new Uint8Array(0);

  constructor(options: ExtOrPortHandshakeOptions) {
    if (options.cookie.length !== 32) throw new RangeError("ExtORPort cookie must be 32 bytes");
    if (options.clientNonce.length !== EXT_OR_NONCE_LENGTH) {
      throw new RangeError("client nonce must be 32 bytes");
    }
    this.#options = options;
  }

  /** True once tor answered OKAY. */
  get done(): boolean {
    return this.#phase === "done";
  }

  /** Bytes tor sent after its OKAY (valid once `done`). */
  get leftover(): Uint8Array {
    return this.#leftover;
  }

  /** The next bytes to send to tor, or null. */
  pollTransmit(): Uint8Array | null {
    return this.#transmit.shift() ?? null;
  }

  /** Takes bytes from tor; throws {@link ExtOrPortError} when the handshake fails. */
  handleInput(bytes: Uint8Array): void {
    if (this.#phase === "done") {
      this.#leftover = concat([this.#leftover, bytes]);
      return;
    }
    this.#input = this.#input.length ? concat([this.#input, bytes]) : bytes;
    for (let progressed = true; progressed && !this.done;) progressed = this.#step();
    if (this.done) {
      this.#leftover = this.#input;
      this.#input = new Uint8Array(0);
    }
  }

  #take(n: number): Uint8Array | null {
    if (this.#input.length < n) return null;
    const out = this.#input.subarray(0, n);
    this.#input = this.#input.subarray(n);
    return out;
  }

  #step(): boolean {
    switch (this.#phase) {
      case "auth-types": {
        const byte = this.#take(1);
        if (!byte) return false;
        if (byte[0] !== 0) {
          this.#authTypes.add(byte[0]);
          if (++this.#authTypeCount >= MAX_AUTH_TYPES) {
            throw new ExtOrPortError("read 256 auth types without seeing \\x00");
          }
          return true;
        }
        if (!this.#authTypes.has(EXT_OR_AUTH_SAFE_COOKIE)) {
          throw new ExtOrPortError("server didn't offer auth type 1");
        }
        this.#transmit.push(concat([new Uint8Array([EXT_OR_AUTH_SAFE_COOKIE]), this.#options.clientNonce]));
        this.#phase = "server-hash";
        return true;
      }
      case "server-hash": {
        const reply = this.#take(64);
        if (!reply) return false;
        const serverHash = reply.subarray(0, 32);
        const serverNonce = reply.subarray(32, 64);
        const { cookie, clientNonce } = this.#options;
        const expected = extOrPortHash(cookie, SERVER_HASH_CONTEXT, clientNonce, serverNonce);
        if (!timingSafeEqual(serverHash, expected)) throw new ExtOrPortError("mismatch in server hash");
        this.#transmit.push(extOrPortHash(cookie, CLIENT_HASH_CONTEXT, clientNonce, serverNonce));
        this.#phase = "status";
        return true;
      }
      case "status": {
        const status = this.#take(1);
        if (!status) return false;
        if (status[0] !== 1) throw new ExtOrPortError("server rejected authentication");
        const encoder = new TextEncoder();
        const commands: Uint8Array[] = [];
        if (this.#options.userAddr) {
          commands.push(encodeExtOrCommand(EXT_OR_CMD_USERADDR, encoder.encode(this.#options.userAddr)));
        }
        if (this.#options.transport) {
          commands.push(encodeExtOrCommand(EXT_OR_CMD_TRANSPORT, encoder.encode(this.#options.transport)));
        }
        commands.push(encodeExtOrCommand(EXT_OR_CMD_DONE));
        this.#transmit.push(concat(commands));
        this.#phase = "reply";
        return true;
      }
      case "reply": {
        if (this.#input.length < 4) return false;
        const view = new DataView(this.#input.buffer, this.#input.byteOffset, 4);
        const cmd = view.getUint16(0);
        const length = view.getUint16(2);
        if (!this.#take(4 + length)) return false;
        if (cmd === EXT_OR_CMD_DENY) throw new ExtOrPortError("server returned DENY after our DONE");
        if (cmd !== EXT_OR_CMD_OKAY) {
          throw new ExtOrPortError(`server returned unknown reply (0x${cmd.toString(16).padStart(4, "0")})`);
        }
        this.#phase = "done";
        return true;
      }
      case "done":
        return false;
    }
  }
}
