/**
 * The proxy's two broker requests (SNOWFLAKE-PROTOCOL.md §4.5, §4.6, §6.3):
 * `POST <broker>/proxy` and `POST <broker>/answer`, plain POSTs without
 * Content-Type as Go sends them, through an injected `fetch` (the runtime's,
 * or a test's). A reply other than 200, over 100000 bytes (Go's `readLimit`),
 * or one that does not decode is a {@link BrokerError}; so is a request that
 * takes longer than `timeoutMs` (the broker holds a poll for up to 10 s).
 */

import { errorMessage } from "../util/errors.ts";
import { concat } from "../util/bytes.ts";
import { MessageError } from "../messages/errors.ts";
import { decodeProxyAnswerResponse, encodeProxyAnswerRequest } from "../messages/proxy_answer.ts";
import {
  decodeProxyPollResponse,
  encodeProxyPollRequest,
  type ProxyPollResult,
} from "../messages/proxy_poll.ts";

/** Largest broker reply read, bytes (Go `readLimit`). */
export const BROKER_READ_LIMIT = 100_000;
/** A broker request that takes longer fails, ms (Go: 30 s response-header timeout). */
export const BROKER_REQUEST_TIMEOUT_MS = 30_000;

/** The broker could not be reached, or replied with something unusable. */
export class BrokerError extends Error {
  override name = "BrokerError";
}

export interface BrokerClientConfig {
  /** The broker's base URL; `proxy` and `answer` are resolved against it. */
  brokerUrl: URL;
  fetch: typeof fetch;
  timeoutMs?: number;
}

/** One proxy poll's fields (the version is fixed, §4.5). */
export interface PollFields {
  sid: string;
  type: string;
  nat: string;
  clients: number;
  acceptedRelayPattern: string;
}

export class BrokerClient {
  readonly #config: BrokerClientConfig;

  constructor(config: BrokerClientConfig) {
    this.#config = config;
  }

  /** One poll: an offer (non-empty `offer`) or `no match` (empty). Throws {@link BrokerError}. */
  async poll(fields: PollFields, signal?: AbortSignal): Promise<ProxyPollResult> {
    const body = await this.#post("proxy", encodeProxyPollRequest(fields), signal);
    try {
      return decodeProxyPollResponse(body);
    } catch (error) {
      throw new BrokerError(`bad poll reply from broker: ${describe(error)}`);
    }
  }

  /** Posts the answer; true if the client is still waiting (`success`). Throws {@link BrokerError}. */
  async answer(sid: string, answer: string, signal?: AbortSignal): Promise<boolean> {
    const body = await this.#post("answer", encodeProxyAnswerRequest({ sid, answer }), signal);
    try {
      return decodeProxyAnswerResponse(body);
    } catch (error) {
      throw new BrokerError(`bad answer reply from broker: ${describe(error)}`);
    }
  }

  async #post(path: string, body: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(this.#config.timeoutMs ?? BROKER_REQUEST_TIMEOUT_MS);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.#config.fetch(new URL(path, this.#config.brokerUrl), {
        method: "POST",
        body,
        signal: combined,
      });
    } catch (error) {
      throw new BrokerError(`error polling broker: ${describe(error)}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw new BrokerError(`broker returned status code ${response.status}`);
    }
    try {
      return await readLimited(response, BROKER_READ_LIMIT);
    } catch (error) {
      throw error instanceof BrokerError
        ? error
        : new BrokerError(`error reading broker reply: ${describe(error)}`);
    }
  }
}

/** The body, or a BrokerError once it passes `limit` bytes (the rest is not read). */
async function readLimited(response: Response, limit: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new BrokerError(`broker reply over ${limit} bytes`);
    }
    chunks.push(value);
  }
  return concat(chunks);
}

function describe(error: unknown): string {
  if (error instanceof MessageError) return error.message;
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  return errorMessage(error);
}
