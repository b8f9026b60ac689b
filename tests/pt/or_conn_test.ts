import assert from "node:assert/strict";
import {
  denoDuplexConn,
  nextReadSizes,
  OR_CONN_MAX_READ,
  OR_CONN_MIN_READ,
  type ReadSizes,
} from "../../lib/pt/or_conn.ts";

const KIB = 1024;

Deno.test("or_conn read sizes: double while reads fill, up to the maximum", () => {
  let sizes: ReadSizes = { next: OR_CONN_MIN_READ, burst: OR_CONN_MIN_READ };
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    sizes = nextReadSizes(sizes, sizes.next);
    seen.push(sizes.next / KIB);
  }
  assert.deepEqual(seen, [4, 8, 16, 32, 64, 64, 64, 64]);
  assert.equal(sizes.next, OR_CONN_MAX_READ);
});

Deno.test("or_conn read sizes: a read that drains the socket is followed by a minimum-size read", () => {
  const afterDrain = nextReadSizes({ next: 64 * KIB, burst: 64 * KIB }, 40 * KIB);
  // The read that may wait while the client idles pins the minimum, not the burst's 64 KiB.
  assert.deepEqual(afterDrain, { next: OR_CONN_MIN_READ, burst: 64 * KIB });
  // The small read fills: the burst goes on at the size it had reached.
  assert.deepEqual(nextReadSizes(afterDrain, OR_CONN_MIN_READ), { next: 64 * KIB, burst: 64 * KIB });
  // The small read does not fill: a trickle; the burst size is forgotten.
  assert.deepEqual(nextReadSizes(afterDrain, 514), { next: OR_CONN_MIN_READ, burst: OR_CONN_MIN_READ });
});

Deno.test("or_conn: bursts with pauses between them arrive intact through the adaptive reads", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const bursts = [1, 100 * KIB, 514, 300 * KIB, 3 * KIB].map((length, i) => {
    const bytes = new Uint8Array(length);
    for (let j = 0; j < length; j++) bytes[j] = (j * 31 + i) & 0xff;
    return bytes;
  });
  const sender = (async () => {
    const conn = await listener.accept();
    for (const burst of bursts) {
      for (let off = 0; off < burst.length;) off += await conn.write(burst.subarray(off));
      await new Promise((resolve) => setTimeout(resolve, 20)); // let the reader drain the socket
    }
    conn.close();
  })();
  const conn = denoDuplexConn(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
  const received: Uint8Array[] = [];
  for (let chunk = await conn.read(); chunk; chunk = await conn.read()) {
    assert.ok(chunk.length <= OR_CONN_MAX_READ);
    received.push(chunk);
  }
  conn.close();
  await sender;
  listener.close();
  const expected = new Uint8Array(bursts.reduce((sum, b) => sum + b.length, 0));
  let off = 0;
  for (const burst of bursts) expected.set(burst, (off += burst.length) - burst.length);
  const got = new Uint8Array(expected.length);
  off = 0;
  for (const chunk of received) got.set(chunk, (off += chunk.length) - chunk.length);
  assert.equal(off, expected.length);
  assert.deepEqual(got, expected);
});
