/**
 * Reading a request body with a size bound (Go's `http.MaxBytesReader` with
 * `readLimit` = 100000, SNOWFLAKE-PROTOCOL.md §4.1). A body over the bound is
 * not buffered: reading stops at the first byte past it (or before reading at
 * all when Content-Length already says so) and the caller answers 400. A body
 * framed by Content-Length is read in one piece; only chunked bodies are read
 * through a stream reader, chunk by chunk against the bound.
 */

import { errorMessage } from "../util/errors.ts";
import { concat } from "../util/bytes.ts";

/** Go `readLimit`. */
export const READ_LIMIT_BYTES = 100_000;

/** The body was larger than the bound, or could not be read. */
export class BodyError extends Error {
  override name = "BodyError";
}

/** The whole body of `request`, at most `limit` bytes; throws {@link BodyError}. */
export async function readBodyLimited(
  request: Request,
  limit: number = READ_LIMIT_BYTES,
): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await request.body?.cancel().catch(() => {});
    throw new BodyError(`request body of ${declared} bytes is over the ${limit}-byte limit`);
  }
  if (declared !== null) {
    // The server has framed the body by Content-Length, so it cannot be longer. bytes() reads it without the
    // stream reader below, which a held long-poll would otherwise keep alive (about 1 KB each).
    let body: Uint8Array;
    try {
      body = await request.bytes();
    } catch (error) {
      throw new BodyError(`cannot read request body: ${errorMessage(error)}`);
    }
    // Only a Request built by hand (not by the server) can carry more than it declares.
    if (body.length > limit) throw new BodyError(`request body is over the ${limit}-byte limit`);
    return body;
  }
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > limit) {
        await reader.cancel().catch(() => {});
        throw new BodyError(`request body is over the ${limit}-byte limit`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof BodyError) throw error;
    throw new BodyError(`cannot read request body: ${errorMessage(error)}`);
  }
  return chunks.length === 1 ? chunks[0] : concat(chunks);
}
