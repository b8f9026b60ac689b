/**
 * AMP armor: how the broker wraps its reply to an AMP-cache client poll in a
 * valid AMP HTML page (SNOWFLAKE-PROTOCOL.md §5.4–§5.5; Go
 * `common/amp/armor_encoder.go`, `armor_decoder.go`).
 *
 * Encoding: fixed boilerplate, then the stream `0` (version) + standard
 * base64 (padded) of the data, cut into 32-byte chunks each followed by LF,
 * 992 chunks per `<pre>` element, then `</body>\n</html>`.
 * Decoding: the text inside `<pre>` elements (other tags ignored, their text
 * kept; comments skipped; character references decoded), ASCII whitespace
 * removed, first byte the version `0`, the rest base64. Nested or stray
 * `<pre>` tags, a missing `</pre>`, a bad version or bad base64 throw.
 */

import { decodeBase64Std, encodeBase64Std } from "./base64.ts";
import { MessageError } from "./errors.ts";
import { tokenizeHtml } from "./html_tokenizer.ts";

/** Go `elementSizeLimit`: longest token the decoder accepts, and the `<pre>` size bound. */
export const AMP_ELEMENT_SIZE_LIMIT = 32 * 1024;
/** Go `bytesPerChunk`. */
export const AMP_BYTES_PER_CHUNK = 32;
/** Go `chunksPerElement` = (32768 − 1) / (32 + 1) = 992. */
export const AMP_CHUNKS_PER_ELEMENT: number = Math.floor(
  (AMP_ELEMENT_SIZE_LIMIT - 1) / (AMP_BYTES_PER_CHUNK + 1),
);

/** The page up to and including `<body>` LF, byte-exact. */
export const AMP_BOILERPLATE_START = `<!doctype html>
<html amp>
<head>
<meta charset="utf-8">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<link rel="canonical" href="#">
<meta name="viewport" content="width=device-width">
<style amp-boilerplate>body{-webkit-animation:-amp-start 8s steps(1,end) 0s 1 normal both;-moz-animation:-amp-start 8s steps(1,end) 0s 1 normal both;-ms-animation:-amp-start 8s steps(1,end) 0s 1 normal both;animation:-amp-start 8s steps(1,end) 0s 1 normal both}@-webkit-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}@-moz-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}@-ms-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}@-o-keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}@keyframes -amp-start{from{visibility:hidden}to{visibility:visible}}</style><noscript><style amp-boilerplate>body{-webkit-animation:none;-moz-animation:none;-ms-animation:none;animation:none}</style></noscript>
</head>
<body>
`;

/** The page's end (no final LF). */
export const AMP_BOILERPLATE_END = "</body>\n</html>";

/** The AMP page carrying `data`. */
export function encodeAmpArmor(data: Uint8Array): string {
  const stream = "0" + encodeBase64Std(data);
  const parts = [AMP_BOILERPLATE_START];
  let chunksInElement = 0;
  let open = false;
  for (let i = 0; i < stream.length; i += AMP_BYTES_PER_CHUNK) {
    const chunk = stream.slice(i, i + AMP_BYTES_PER_CHUNK);
    if (!open) parts.push("<pre>\n");
    open = true;
    parts.push(chunk);
    if (chunk.length < AMP_BYTES_PER_CHUNK) {
      parts.push("\n</pre>\n");
      open = false;
      break;
    }
    parts.push("\n");
    if (++chunksInElement >= AMP_CHUNKS_PER_ELEMENT) {
      parts.push("</pre>\n");
      chunksInElement = 0;
      open = false;
    }
  }
  if (open) parts.push("</pre>\n");
  parts.push(AMP_BOILERPLATE_END);
  return parts.join("");
}

/** The data in an AMP page; throws {@link MessageError}. */
export function decodeAmpArmor(html: string): Uint8Array {
  let inPre = false;
  let stream = "";
  for (const token of tokenizeHtml(html, AMP_ELEMENT_SIZE_LIMIT)) {
    if (token.type === "text") {
      if (inPre) stream += token.text.replace(/[\t\n\f\r ]+/g, "");
    } else if (token.type === "start" && token.name === "pre") {
      if (inPre) throw new MessageError("unexpected <pre>");
      inPre = true;
    } else if (token.type === "end" && token.name === "pre") {
      if (!inPre) throw new MessageError("unexpected </pre>");
      inPre = false;
    }
  }
  if (inPre) throw new MessageError("missing </pre> tag");
  if (stream.length === 0) throw new MessageError("no armored data: no text in <pre> elements");
  if (stream[0] !== "0") throw new MessageError(`unknown armor version indicator '${stream[0]}'`);
  return decodeBase64Std(stream.slice(1));
}
