/**
 * NAT behaviour discovery (RFC 5780 §4) as a sans-I/O machine, with Snowflake's
 * policy (Go `common/nat`): a NAT is `restricted` when its mapping depends on
 * the destination (address- or address-and-port-dependent mapping), else
 * `unrestricted`; `unknown` when the test cannot be completed (no answer, no
 * OTHER-ADDRESS, an error response).
 *
 * ```
 * Test I    Binding Request → primary            ← XOR-MAPPED-ADDRESS M1, OTHER-ADDRESS O
 * Test II   Binding Request → O                  ← XOR-MAPPED-ADDRESS M2
 *           M1 = M2: endpoint-independent mapping, else endpoint-dependent
 * [filter]  Binding Request, CHANGE-REQUEST port → primary
 *           answer: not port-dependent; none within the transaction timeout: port-dependent
 * ```
 * Test II goes to OTHER-ADDRESS itself (alternate IP and port), as the Go client
 * does, rather than RFC 5780's alternate IP with the primary port: the IP
 * changes either way, which is all the policy needs, and servers that listen
 * on only the two advertised sockets still answer. The filtering test (Go's
 * `isRestrictedFiltering`, unused by the Go client) runs only when asked; then
 * port-dependent filtering also makes the NAT `restricted`.
 *
 * Each request is retransmitted as RFC 5389 §7.2.1 says (RTO doubling from
 * `rtoMs`), until the transaction times out. Responses are matched by
 * transaction ID, so late answers to an earlier request are ignored.
 *
 * Use: after {@link NatDiscovery.start} and after each `handleInput` or
 * `handleTimeout`, send every {@link NatDiscovery.pollTransmit} datagram, read
 * {@link NatDiscovery.pollEvent} until null, and wake at {@link NatDiscovery.pollTimeout}.
 */

import { formatTcpAddr, type TcpAddr } from "../net/addr.ts";
import { bytesEqual } from "../util/bytes.ts";
import { NAT_RESTRICTED, NAT_UNKNOWN, NAT_UNRESTRICTED, type NatType } from "../messages/nat.ts";
import {
  ATTR_CHANGE_REQUEST,
  ATTR_ERROR_CODE,
  ATTR_MAPPED_ADDRESS,
  ATTR_OTHER_ADDRESS,
  ATTR_XOR_MAPPED_ADDRESS,
  decodeStunMessage,
  encodeStunMessageBytes,
  findAttribute,
  isStunMessage,
  STUN_BINDING_ERROR,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  STUN_TRANSACTION_ID_LENGTH,
  type StunAttribute,
  type StunMessage,
} from "./stun_message.ts";
import {
  CHANGE_PORT,
  decodeAddress,
  decodeErrorCode,
  decodeXorAddress,
  encodeChangeRequest,
} from "./stun_attributes.ts";

/** RFC 5389 §7.2.1's initial RTO. */
export const DEFAULT_RTO_MS = 500;
/** How long one request waits for its answer, retransmissions included. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 5_000;

/** How the NAT maps us (RFC 5780 §4.3): the same public address towards every server address, or not. */
export type MappingBehavior = "endpoint-independent" | "endpoint-dependent" | "unknown";
/** Whether answers from another port of the server reach us (RFC 5780 §4.4); `untested` unless asked. */
export type FilteringBehavior = "port-independent" | "port-dependent" | "untested" | "unknown";

/** What the test found. */
export interface NatDiscoveryResult {
  /** Snowflake's verdict. */
  natType: NatType;
  /** The mapping seen (`unknown` if the test ended early). */
  mapping: MappingBehavior;
  /** The filtering seen. */
  filtering: FilteringBehavior;
  /** Why the result is `unknown`, in words for a log line. */
  reason?: string;
}

/** The machine's one event: the result. */
export type NatDiscoveryEvent = { type: "done"; result: NatDiscoveryResult };

/** Options of {@link NatDiscovery}. */
export interface NatDiscoveryOptions {
  /** The STUN server's primary address. */
  server: TcpAddr;
  /** Also test filtering (port-dependent filtering then makes the NAT restricted). Default false. */
  testFiltering?: boolean;
  /** First retransmission timeout, doubling after each send (default {@link DEFAULT_RTO_MS}). */
  rtoMs?: number;
  /** How long one request waits, retransmissions included (default {@link DEFAULT_TRANSACTION_TIMEOUT_MS}). */
  transactionTimeoutMs?: number;
  /** Gives up with `unknown` this long after start. Default: no overall limit beyond the transactions'. */
  timeoutMs?: number;
  /** 12 random bytes per call; tests inject a deterministic source. */
  randomTransactionId?: () => Uint8Array;
}

type Phase = "mapping-primary" | "mapping-other" | "filtering" | "done";

interface Transaction {
  id: Uint8Array;
  packet: Uint8Array;
  to: string;
  nextSendAt: number;
  rto: number;
  deadline: number;
}

/** One datagram to send. */
export interface StunTransmit {
  /** The encoded Binding Request. */
  packet: Uint8Array;
  /** `host:port`, `[v6]:port` for IPv6. */
  to: string;
}

/** The RFC 5780 test as a sans-I/O machine (see the module doc). */
export class NatDiscovery {
  readonly #options: Required<Omit<NatDiscoveryOptions, "timeoutMs">> & { timeoutMs?: number };
  #phase: Phase | "idle" = "idle";
  #transaction: Transaction | null = null;
  #transmits: StunTransmit[] = [];
  #events: NatDiscoveryEvent[] = [];
  #deadline = Infinity;
  #mapped1 = "";
  #mapping: MappingBehavior = "unknown";

  /** A machine for one test; call {@link NatDiscovery.start} to send the first request. */
  constructor(options: NatDiscoveryOptions) {
    this.#options = {
      testFiltering: false,
      rtoMs: DEFAULT_RTO_MS,
      transactionTimeoutMs: DEFAULT_TRANSACTION_TIMEOUT_MS,
      randomTransactionId: () => crypto.getRandomValues(new Uint8Array(STUN_TRANSACTION_ID_LENGTH)),
      ...options,
    };
  }

  /** Sends Test I. */
  start(now: number): void {
    if (this.#phase !== "idle") return;
    if (this.#options.timeoutMs !== undefined) this.#deadline = now + this.#options.timeoutMs;
    this.#phase = "mapping-primary";
    this.#request(now, this.#options.server, []);
  }

  /** True once the result event has been queued. */
  get done(): boolean {
    return this.#phase === "done";
  }

  /** A datagram from `from` (ignored unless it answers the current request). */
  handleInput(now: number, datagram: Uint8Array, _from?: string): void {
    const transaction = this.#transaction;
    if (!transaction || !isStunMessage(datagram)) return;
    let message: StunMessage;
    try {
      [message] = decodeStunMessage(datagram);
    } catch {
      return; // junk is not an answer; the request keeps its retransmissions
    }
    if (message.type !== STUN_BINDING_SUCCESS && message.type !== STUN_BINDING_ERROR) return;
    if (!bytesEqual(message.transactionId, transaction.id)) return;
    this.#transaction = null;
    if (message.type === STUN_BINDING_ERROR) {
      const value = findAttribute(message, ATTR_ERROR_CODE);
      let detail = "";
      try {
        if (value) {
          const error = decodeErrorCode(value);
          detail = ` ${error.code} ${error.reason}`;
        }
      } catch { /* a malformed ERROR-CODE is still an error response */ }
      return this.#finish(`STUN server answered an error${detail}`);
    }
    this.#handleSuccess(now, message);
  }

  /** Retransmits, or moves on when a request timed out. */
  handleTimeout(now: number): void {
    if (this.#phase === "done" || this.#phase === "idle") return;
    if (now >= this.#deadline) return this.#finish("timed out");
    const transaction = this.#transaction;
    if (!transaction) return;
    if (now >= transaction.deadline) {
      this.#transaction = null;
      if (this.#phase === "filtering") return this.#conclude("port-dependent");
      return this.#finish(
        `no answer from ${
          this.#phase === "mapping-primary" ? "the STUN server" : "the STUN server's OTHER-ADDRESS"
        }`,
      );
    }
    if (now >= transaction.nextSendAt) {
      this.#transmits.push({ packet: transaction.packet, to: transaction.to });
      transaction.rto *= 2;
      transaction.nextSendAt = now + transaction.rto;
    }
  }

  /** The next datagram to send, or null. */
  pollTransmit(): StunTransmit | null {
    return this.#transmits.shift() ?? null;
  }

  /** The result once decided, or null. */
  pollEvent(): NatDiscoveryEvent | null {
    return this.#events.shift() ?? null;
  }

  /** When to call `handleTimeout` next; null when done. */
  pollTimeout(): number | null {
    if (this.#phase === "done" || this.#phase === "idle") return null;
    const transaction = this.#transaction;
    const next = transaction ? Math.min(transaction.nextSendAt, transaction.deadline) : Infinity;
    const at = Math.min(next, this.#deadline);
    return Number.isFinite(at) ? at : null;
  }

  #handleSuccess(now: number, message: StunMessage): void {
    if (this.#phase === "filtering") return this.#conclude("port-independent");
    const mapped = mappedAddress(message);
    if (!mapped) return this.#finish("STUN answer without XOR-MAPPED-ADDRESS");
    if (this.#phase === "mapping-primary") {
      this.#mapped1 = mapped;
      const otherValue = findAttribute(message, ATTR_OTHER_ADDRESS);
      let other: TcpAddr;
      try {
        if (!otherValue) throw new Error();
        other = decodeAddress(otherValue);
      } catch {
        return this.#finish("STUN server does not support RFC 5780 NAT discovery (no OTHER-ADDRESS)");
      }
      if (other.ip.length !== this.#options.server.ip.length) {
        return this.#finish("OTHER-ADDRESS is of another address family");
      }
      this.#phase = "mapping-other";
      this.#request(now, other, []);
      return;
    }
    // mapping-other
    this.#mapping = mapped === this.#mapped1 ? "endpoint-independent" : "endpoint-dependent";
    if (!this.#options.testFiltering) return this.#conclude("untested");
    this.#phase = "filtering";
    this.#request(now, this.#options.server, [{
      type: ATTR_CHANGE_REQUEST,
      value: encodeChangeRequest(CHANGE_PORT),
    }]);
  }

  #request(now: number, to: TcpAddr, attributes: StunAttribute[]): void {
    const id = this.#options.randomTransactionId();
    const packet = encodeStunMessageBytes({ type: STUN_BINDING_REQUEST, transactionId: id, attributes });
    const rto = this.#options.rtoMs;
    const address = formatTcpAddr(to);
    this.#transaction = {
      id,
      packet,
      to: address,
      rto,
      nextSendAt: now + rto,
      deadline: now + this.#options.transactionTimeoutMs,
    };
    this.#transmits.push({ packet, to: address });
  }

  #conclude(filtering: FilteringBehavior): void {
    const restricted = this.#mapping === "endpoint-dependent" || filtering === "port-dependent";
    this.#done({
      natType: restricted ? NAT_RESTRICTED : NAT_UNRESTRICTED,
      mapping: this.#mapping,
      filtering,
    });
  }

  #finish(reason: string): void {
    this.#done({
      natType: NAT_UNKNOWN,
      mapping: this.#mapping,
      filtering: this.#options.testFiltering ? "unknown" : "untested",
      reason,
    });
  }

  #done(result: NatDiscoveryResult): void {
    this.#phase = "done";
    this.#transaction = null;
    this.#events.push({ type: "done", result });
  }
}

/** XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (RFC 5389 §15.1 servers for old clients), formatted; null if neither decodes. */
function mappedAddress(message: StunMessage): string | null {
  try {
    const xor = findAttribute(message, ATTR_XOR_MAPPED_ADDRESS);
    if (xor) return formatTcpAddr(decodeXorAddress(xor, message.transactionId));
    const plain = findAttribute(message, ATTR_MAPPED_ADDRESS);
    if (plain) return formatTcpAddr(decodeAddress(plain));
  } catch {
    // malformed: treated as missing
  }
  return null;
}
