/**
 * The broker's HTTP responses in the shapes Go's handlers write them
 * (SNOWFLAKE-PROTOCOL.md §4.1, §4.4): CORS headers, empty-bodied statuses,
 * Go's 404 text, AMP-armored client replies, and our 503 at the waiting bounds.
 */

import { encodeAmpArmor } from "../messages/amp_armor.ts";
import { encodeClientPollResponse } from "../messages/client_poll.ts";

export const CORS_HEADERS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "Origin, X-Session-ID",
};
export const TEXT = "text/plain; charset=utf-8";
/** Seconds a refused proxy or client is asked to wait before trying again. */
const RETRY_AFTER_SECONDS = "5";

export function withCors(response: Response): Response {
  for (const [name, value] of Object.entries(CORS_HEADERS)) response.headers.set(name, value);
  return response;
}

export function json(body: Uint8Array<ArrayBuffer>): Response {
  // Go sets no Content-Type and sniffing gives text/plain for these bodies.
  return new Response(body, { headers: { "Content-Type": TEXT } });
}

export function empty(status: number): Response {
  return new Response(null, { status });
}

export function overCapacity(reason: string): Response {
  return new Response(`broker at capacity: ${reason}\n`, {
    status: 503,
    headers: { "Content-Type": TEXT, "Retry-After": RETRY_AFTER_SECONDS },
  });
}

export function notFound(headers: Record<string, string>): Response {
  return new Response("404 page not found\n", {
    status: 404,
    headers: { ...headers, "Content-Type": TEXT, "X-Content-Type-Options": "nosniff" },
  });
}

export function armored(response: { answer?: string; error?: string }): Response {
  return new Response(encodeAmpArmor(encodeClientPollResponse(response)), {
    headers: { "Content-Type": "text/html", "Cache-Control": "max-age=15" },
  });
}
