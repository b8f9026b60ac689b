import assert from "node:assert/strict";
import { fromHex, toHex } from "../../lib/util/bytes.ts";
import {
  CLIENT_HASH_CONTEXT,
  encodeExtOrCommand,
  EXT_OR_CMD_DONE,
  EXT_OR_CMD_OKAY,
  EXT_OR_CMD_TRANSPORT,
  EXT_OR_CMD_USERADDR,
  ExtOrPortError,
  ExtOrPortHandshake,
  extOrPortHash,
  SERVER_HASH_CONTEXT,
} from "../../lib/pt/extorport_handshake.ts";
import { formatAuthCookie } from "../../lib/pt/auth_cookie.ts";
import { dialOr, DialOrError } from "../../lib/pt/dial_or.ts";
import { parseIp } from "../../lib/net/addr.ts";
import { ConnReader, startExtOrPortStandIn } from "./extorport_standin.ts";

const range = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i);
const COOKIE = range(0, 32);
const CLIENT_NONCE = range(0x20, 32);
const SERVER_NONCE = range(0x40, 32);

Deno.test("extOrPortHash: SNOWFLAKE-PROTOCOL.md §9.9 HMAC vector", () => {
  assert.equal(
    toHex(extOrPortHash(COOKIE, SERVER_HASH_CONTEXT, CLIENT_NONCE, SERVER_NONCE)),
    "67cb22838690cf4c49434d4ea3164fbdcc936e46fd90ee62f511639a8456d133",
  );
  assert.equal(
    toHex(extOrPortHash(COOKIE, CLIENT_HASH_CONTEXT, CLIENT_NONCE, SERVER_NONCE)),
    "4becde5c2fe8a9fed908d74f79be128d73abfbf82c009d3bdc17b4bc02740d58",
  );
});

Deno.test("encodeExtOrCommand: SNOWFLAKE-PROTOCOL.md §9.9 encodings", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assert.equal(
    toHex(encodeExtOrCommand(EXT_OR_CMD_USERADDR, text("1.2.3.4:1"))),
    "0001000931 2e322e332e343a31".replace(" ", ""),
  );
  assert.equal(
    toHex(encodeExtOrCommand(EXT_OR_CMD_TRANSPORT, text("snowflake"))),
    "00020009736e6f77666c616b65",
  );
  assert.equal(toHex(encodeExtOrCommand(EXT_OR_CMD_DONE)), "00000000");
  assert.throws(() => encodeExtOrCommand(1, new Uint8Array(65536)), RangeError);
});

/** Drives the machine through tor's side, one byte at a time, and returns what it sent. */
function runHandshake(
  torBytes: Uint8Array[],
  options: { userAddr?: string; transport?: string } = {},
): { sent: string[]; machine: ExtOrPortHandshake } {
  const machine = new ExtOrPortHandshake({ cookie: COOKIE, clientNonce: CLIENT_NONCE, ...options });
  const sent: string[] = [];
  for (const chunk of torBytes) {
    for (const byte of chunk) {
      machine.handleInput(new Uint8Array([byte]));
      for (let out = machine.pollTransmit(); out; out = machine.pollTransmit()) sent.push(toHex(out));
    }
  }
  return { sent, machine };
}

Deno.test("ExtOrPortHandshake: the whole exchange, byte by byte, with golden bytes", () => {
  const serverHash = fromHex("67cb22838690cf4c49434d4ea3164fbdcc936e46fd90ee62f511639a8456d133");
  const { sent, machine } = runHandshake([
    new Uint8Array([3, 1, 0]), // auth types 3 and 1
    serverHash,
    SERVER_NONCE,
    new Uint8Array([1]), // status
    encodeExtOrCommand(EXT_OR_CMD_OKAY),
    new Uint8Array([0xaa, 0xbb]), // first OR bytes after OKAY
  ], { userAddr: "1.2.3.4:1", transport: "snowflake" });
  assert.deepEqual(sent, [
    "01" + toHex(CLIENT_NONCE),
    "4becde5c2fe8a9fed908d74f79be128d73abfbf82c009d3bdc17b4bc02740d58",
    "00010009312e322e332e343a31" + "00020009736e6f77666c616b65" + "00000000",
  ]);
  assert.ok(machine.done);
  assert.equal(toHex(machine.leftover), "aabb");
});

Deno.test("ExtOrPortHandshake: USERADDR omitted when empty", () => {
  const serverHash = extOrPortHash(COOKIE, SERVER_HASH_CONTEXT, CLIENT_NONCE, SERVER_NONCE);
  const { sent } = runHandshake([new Uint8Array([1, 0]), serverHash, SERVER_NONCE, new Uint8Array([1])], {
    userAddr: "",
    transport: "snowflake",
  });
  assert.equal(sent[2], "00020009736e6f77666c616b65" + "00000000");
});

Deno.test("ExtOrPortHandshake: each failure is an ExtOrPortError", () => {
  const good = extOrPortHash(COOKIE, SERVER_HASH_CONTEXT, CLIENT_NONCE, SERVER_NONCE);
  const bad = good.slice();
  bad[31] ^= 0x80;
  const cases: [Uint8Array[], string][] = [
    [[new Uint8Array([2, 3, 0])], "server didn't offer auth type 1"],
    [[new Uint8Array(256).fill(1)], "read 256 auth types without seeing \\x00"],
    [[new Uint8Array([1, 0]), bad, SERVER_NONCE], "mismatch in server hash"],
    [[new Uint8Array([1, 0]), good, SERVER_NONCE, new Uint8Array([0])], "server rejected authentication"],
    [
      [new Uint8Array([1, 0]), good, SERVER_NONCE, new Uint8Array([1]), encodeExtOrCommand(0x1001)],
      "server returned DENY after our DONE",
    ],
    [[
      new Uint8Array([1, 0]),
      good,
      SERVER_NONCE,
      new Uint8Array([1]),
      encodeExtOrCommand(0x1234, new Uint8Array(3)),
    ], "server returned unknown reply (0x1234)"],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => runHandshake(bytes), (error: Error) => {
      assert.ok(error instanceof ExtOrPortError, message);
      assert.equal(error.message, message);
      return true;
    });
  }
});

async function withCookieFile<T>(cookie: Uint8Array, body: (path: string) => Promise<T>): Promise<T> {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, formatAuthCookie(cookie));
    return await body(path);
  } finally {
    await Deno.remove(path);
  }
}

const LOCALHOST = parseIp("127.0.0.1")!;

Deno.test("dialOr: ExtORPort stand-in verifies our HMAC, gets USERADDR and TRANSPORT, then data flows", async () => {
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  const standIn = startExtOrPortStandIn({
    cookie,
    async onData(conn, reader) {
      await conn.write(new TextEncoder().encode("from tor"));
      const got = await reader.readExact(9);
      await conn.write(got!);
    },
  });
  try {
    await withCookieFile(cookie, async (path) => {
      const target = { extendedOrAddr: { ip: LOCALHOST, port: standIn.port }, authCookiePath: path };
      const conn = await dialOr(target, "[2001:db8::1]:1", "snowflake");
      await conn.write(new TextEncoder().encode("from user"));
      let received = "";
      while (received.length < "from torfrom user".length) {
        const chunk = await conn.read();
        assert.ok(chunk);
        received += new TextDecoder().decode(chunk);
      }
      assert.equal(received, "from torfrom user");
      conn.close();
    });
  } finally {
    await standIn.close();
  }
  assert.deepEqual(standIn.sessions, [{
    clientHashOk: true,
    userAddr: "[2001:db8::1]:1",
    transport: "snowflake",
  }]);
});

Deno.test("dialOr: failures end the attempt with a reason", async () => {
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  const otherCookie = crypto.getRandomValues(new Uint8Array(32));
  const cases: [Parameters<typeof startExtOrPortStandIn>[0], Uint8Array, RegExp][] = [
    [{ cookie, badServerHash: true }, cookie, /mismatch in server hash/],
    [{ cookie: otherCookie }, cookie, /mismatch in server hash/], // tor's cookie differs from ours
    [{ cookie, deny: true }, cookie, /DENY/],
    [{ cookie, authTypes: [2] }, cookie, /didn't offer auth type 1/],
  ];
  for (const [options, ourCookie, pattern] of cases) {
    const standIn = startExtOrPortStandIn(options);
    try {
      await withCookieFile(ourCookie, async (path) => {
        const target = { extendedOrAddr: { ip: LOCALHOST, port: standIn.port }, authCookiePath: path };
        await assert.rejects(dialOr(target, "1.2.3.4:1", "snowflake"), pattern);
      });
    } finally {
      await standIn.close();
    }
  }
});

Deno.test("dialOr: a client hash tor refuses is reported as rejected authentication", async () => {
  // A stand-in that checks our hash against a different cookie than the one it proves knowledge of.
  const cookie = crypto.getRandomValues(new Uint8Array(32));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = (async () => {
    const conn = await listener.accept();
    const reader = new ConnReader(conn);
    await conn.write(new Uint8Array([1, 0]));
    const chosen = (await reader.readExact(33))!;
    const serverNonce = crypto.getRandomValues(new Uint8Array(32));
    await conn.write(extOrPortHash(cookie, SERVER_HASH_CONTEXT, chosen.subarray(1), serverNonce));
    await conn.write(serverNonce);
    await reader.readExact(32);
    await conn.write(new Uint8Array([0])); // refuse
    await reader.readSome();
    conn.close();
  })();
  try {
    await withCookieFile(cookie, async (path) => {
      const target = {
        extendedOrAddr: { ip: LOCALHOST, port: (listener.addr as Deno.NetAddr).port },
        authCookiePath: path,
      };
      await assert.rejects(dialOr(target, "", "snowflake"), /server rejected authentication/);
    });
  } finally {
    await server;
    listener.close();
  }
});

Deno.test("dialOr: a silent Extended ORPort times out; a bad cookie file is named", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const acceptLoop = (async () => {
    for (;;) {
      try {
        accepted.push(await listener.accept());
      } catch {
        return;
      }
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    await withCookieFile(new Uint8Array(32), async (path) => {
      const target = { extendedOrAddr: { ip: LOCALHOST, port }, authCookiePath: path };
      await assert.rejects(dialOr(target, "", "snowflake", { timeoutMs: 200 }), DialOrError);
    });
    const missing = { extendedOrAddr: { ip: LOCALHOST, port }, authCookiePath: "/nonexistent/cookie" };
    await assert.rejects(
      dialOr(missing, "", "snowflake", { timeoutMs: 2000 }),
      /error reading TOR_PT_AUTH_COOKIE_FILE "\/nonexistent\/cookie"/,
    );
  } finally {
    listener.close();
    await acceptLoop;
    for (const conn of accepted) conn.close();
  }
});

Deno.test("dialOr: plain ORPort when no Extended ORPort is configured; source address honoured", async () => {
  const standIn = startExtOrPortStandIn({
    async onData(conn, reader) {
      const got = await reader.readExact(5);
      await conn.write(got!);
    },
  });
  try {
    for (const localAddress of [undefined, "127.0.0.7"]) {
      const conn = await dialOr({ orAddr: { ip: LOCALHOST, port: standIn.port } }, "1.2.3.4:1", "snowflake", {
        localAddress,
      });
      await conn.write(new TextEncoder().encode("hello"));
      const chunk = await conn.read();
      assert.equal(new TextDecoder().decode(chunk!), "hello");
      await conn.closeWrite();
      assert.equal(await conn.read(), null);
      conn.close();
    }
  } finally {
    await standIn.close();
  }
  await assert.rejects(dialOr({}, "", "snowflake"), DialOrError);
});
