/**
 * A small HTML tokenizer, enough to read AMP armor (SNOWFLAKE-PROTOCOL.md
 * §5.5) the way Go's `golang.org/x/net/html` tokenizer does: start, end and
 * self-closing tags with lowercased names, text with character references
 * decoded, comments, doctypes and bogus comments skipped, and the raw-text
 * elements (`script`, `style`, ...) whose content is text, not markup.
 *
 * Named character references: the XML five, `nbsp` and the whitespace ones;
 * numeric ones fully. (The armor is base64 and newlines; anything else only
 * has to not confuse us.) A token longer than `maxTokenLength` throws, as
 * Go's `SetMaxBuf` does.
 */

import { MessageError } from "./errors.ts";

export type HtmlToken =
  | { type: "text"; text: string }
  | { type: "start"; name: string }
  | { type: "end"; name: string }
  | { type: "self-closing"; name: string };

/** Elements whose content is raw text up to the matching end tag (RCDATA ones decode references). */
const RAW_TEXT = new Set(["iframe", "noembed", "noframes", "noscript", "script", "style", "xmp"]);
const RCDATA = new Set(["textarea", "title"]);

const NAMED_REFERENCES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  Tab: "\t",
  NewLine: "\n",
};

/** Decodes character references in text. Unknown names stay as written (as browsers do). */
export function decodeCharacterReferences(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?/g, (match, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(code);
    }
    return NAMED_REFERENCES[ref] ?? match;
  });
}

/** Yields the tokens of `html`. Throws {@link MessageError} when a token exceeds `maxTokenLength`. */
export function* tokenizeHtml(html: string, maxTokenLength = Infinity): Generator<HtmlToken> {
  let i = 0;
  const n = html.length;
  const check = (length: number) => {
    if (length > maxTokenLength) throw new MessageError("html: token too long");
  };
  while (i < n) {
    if (html[i] !== "<" || !opensMarkup(html, i)) {
      // Text runs up to the next '<' that opens markup; a lone '<' is text.
      let end = i + 1;
      for (;;) {
        const lt = html.indexOf("<", end);
        if (lt < 0 || opensMarkup(html, lt)) {
          end = lt < 0 ? n : lt;
          break;
        }
        end = lt + 1;
      }
      check(end - i);
      yield { type: "text", text: decodeCharacterReferences(html.slice(i, end)) };
      i = end;
      continue;
    }
    // html[i] === "<" and it opens markup.
    if (html.startsWith("<!--", i)) {
      const close = html.indexOf("-->", i + 4);
      i = close < 0 ? n : close + 3;
      continue;
    }
    if (html[i + 1] === "!" || html[i + 1] === "?" || (html[i + 1] === "/" && !isLetter(html[i + 2]))) {
      const close = html.indexOf(">", i + 2);
      i = close < 0 ? n : close + 1;
      continue;
    }
    const isEnd = html[i + 1] === "/";
    let j = i + (isEnd ? 2 : 1);
    const nameStart = j;
    while (j < n && !/[\s/>]/.test(html[j])) j++;
    const name = html.slice(nameStart, j).toLowerCase();
    // Skip attributes, honouring quotes, up to the closing '>'.
    let quote = "";
    let selfClosing = false;
    for (; j < n; j++) {
      const c = html[j];
      if (quote) {
        if (c === quote) quote = "";
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === ">") {
        selfClosing = html[j - 1] === "/";
        break;
      }
    }
    check(j - i);
    i = j < n ? j + 1 : n;
    if (isEnd) {
      yield { type: "end", name };
      continue;
    }
    if (selfClosing) {
      yield { type: "self-closing", name };
      continue;
    }
    yield { type: "start", name };
    if (name === "plaintext") {
      if (i < n) yield { type: "text", text: html.slice(i) };
      return;
    }
    if (RAW_TEXT.has(name) || RCDATA.has(name)) {
      const close = indexOfEndTag(html, name, i);
      if (close > i) {
        const raw = html.slice(i, close);
        check(raw.length);
        yield { type: "text", text: RCDATA.has(name) ? decodeCharacterReferences(raw) : raw };
      }
      i = close;
    }
  }
}

function isLetter(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z]/.test(c);
}

function opensMarkup(html: string, at: number): boolean {
  const next = html[at + 1];
  return isLetter(next) || next === "!" || next === "?" || next === "/";
}

/** Index of `</name` (case-insensitive) followed by whitespace, `/` or `>`, at or after `from`; else the end. */
function indexOfEndTag(html: string, name: string, from: number): number {
  const lower = html.toLowerCase();
  let at = from;
  for (;;) {
    const found = lower.indexOf("</" + name, at);
    if (found < 0) return html.length;
    const after = html[found + 2 + name.length];
    if (after === undefined || /[\s/>]/.test(after)) return found;
    at = found + 1;
  }
}
