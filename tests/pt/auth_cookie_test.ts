import assert from "node:assert/strict";
import {
  AUTH_COOKIE_HEADER,
  AuthCookieError,
  formatAuthCookie,
  parseAuthCookie,
  readAuthCookieFile,
} from "../../lib/pt/auth_cookie.ts";
import { concat, toHex } from "../../lib/util/bytes.ts";

Deno.test("auth cookie: header bytes, SNOWFLAKE-PROTOCOL.md §9.9", () => {
  assert.equal(
    toHex(AUTH_COOKIE_HEADER),
    "2120457874656e646564204f52506f7274204175746820436f6f6b696520210a",
  );
});

Deno.test("auth cookie: parse accepts exactly header + 32 bytes", () => {
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  assert.deepEqual(parseAuthCookie(formatAuthCookie(cookie)), cookie);
  const file = formatAuthCookie(cookie);
  const cases: [Uint8Array, string][] = [
    [file.subarray(0, 63), "unexpected EOF"], // short
    [concat([file, new Uint8Array([0])]), "file is longer than 64 bytes"],
    [concat([new Uint8Array(32), cookie]), "missing auth cookie header"],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(
      () => parseAuthCookie(bytes),
      (error: Error) => error instanceof AuthCookieError && error.message === message,
    );
  }
});

Deno.test("auth cookie: readAuthCookieFile names the file in its errors", async () => {
  const path = await Deno.makeTempFile();
  try {
    const cookie = crypto.getRandomValues(new Uint8Array(32));
    await Deno.writeFile(path, formatAuthCookie(cookie));
    assert.deepEqual(await readAuthCookieFile(path), cookie);
    await Deno.writeFile(path, new Uint8Array(1000));
    await assert.rejects(readAuthCookieFile(path), {
      message: `error reading TOR_PT_AUTH_COOKIE_FILE ${JSON.stringify(path)}: file is longer than 64 bytes`,
    });
  } finally {
    await Deno.remove(path);
  }
});
