/** The Arq emits the §6 vectors byte for byte when put in the situation each one describes. */
import assert from "node:assert/strict";
import { Arq } from "../../lib/kcp/arq.ts";
import { KcpError } from "../../lib/kcp/error.ts";
import { KCP_DEFAULT_OPTIONS, SNOWFLAKE_KCP_OPTIONS } from "../../lib/kcp/options.ts";
import { CMD_WASK, CMD_WINS } from "../../lib/kcp/segment.ts";
import { fromHex, toHex } from "../../lib/util/bytes.ts";
import { flushTo, packetOf } from "./helpers.ts";

function flushHex(arq: Arq, now: number, ackOnly = false): string[] {
  const packets: string[] = [];
  flushTo(arq, now, (p) => packets.push(toHex(p)), ackOnly);
  return packets;
}

const hex = (s: string) => s.replace(/\s+/g, "");

Deno.test("Arq K2, KCP-SMUX.md §6: ACK for K1 echoes ts, wnd counts the queued segment", () => {
  const arq = new Arq(0x11223344, SNOWFLAKE_KCP_OPTIONS);
  const k1 = fromHex(
    "44 33 22 11 51 00 ff ff e8 03 00 00 00 00 00 00 00 00 00 00 05 00 00 00 68 65 6c 6c 6f",
  );
  assert.equal(arq.handleInput(5000, k1), null);
  assert.deepEqual(flushHex(arq, 5000), [
    hex("44 33 22 11 52 00 fe ff e8 03 00 00 00 00 00 00 01 00 00 00 00 00 00 00"),
  ]);
  assert.equal(new TextDecoder().decode(arq.read()!), "hello");
});

Deno.test("Arq K3, KCP-SMUX.md §6/§4.12: WASK 7 s after the peer's window closed, with kcp-go defaults", () => {
  const arq = new Arq(0x11223344, KCP_DEFAULT_OPTIONS, { initialSn: 7 });
  assert.equal(arq.handleInput(0, packetOf({ conv: 0x11223344, cmd: CMD_WINS, wnd: 0, una: 7 })), null);
  assert.deepEqual(flushHex(arq, 0), [], "the probe timer starts");
  assert.deepEqual(flushHex(arq, 6999), []);
  assert.deepEqual(flushHex(arq, 7000), [
    hex("44 33 22 11 53 00 20 00 00 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00"),
  ]);
  // then 1.5× apart: 10.5 s, 15.75 s, …
  assert.deepEqual(flushHex(arq, 17499), []);
  assert.equal(flushHex(arq, 17500).length, 1);
  assert.equal(flushHex(arq, 17500 + 15749).length, 0);
  assert.equal(flushHex(arq, 17500 + 15750).length, 1);
});

Deno.test("Arq K4, KCP-SMUX.md §6: a WASK is answered by WINS at the next flush", () => {
  const arq = new Arq(0x11223344, SNOWFLAKE_KCP_OPTIONS, { initialSn: 7 });
  arq.handleInput(10, packetOf({ conv: 0x11223344, cmd: CMD_WASK, wnd: 100, una: 7, ts: 99, sn: 42 }));
  assert.deepEqual(flushHex(arq, 20), [
    hex("44 33 22 11 54 00 ff ff 00 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00"),
  ]);
  assert.deepEqual(flushHex(arq, 30), [], "one WINS per WASK");
});

Deno.test("Arq K7, KCP-SMUX.md §6: the client's first packet carries the smux SYN", () => {
  const arq = new Arq(0x0badcafe, SNOWFLAKE_KCP_OPTIONS);
  arq.send(fromHex("02 00 00 00 03 00 00 00"), 0);
  assert.deepEqual(flushHex(arq, 0x2a), [
    hex("fe ca ad 0b 51 00 ff ff 2a 00 00 00 00 00 00 00 00 00 00 00 08 00 00 00 02 00 00 00 03 00 00 00"),
  ]);
});

Deno.test("Arq K8, KCP-SMUX.md §6/§9.4: ACK rides in front of data in one packet", () => {
  const arq = new Arq(0x0badcafe, SNOWFLAKE_KCP_OPTIONS);
  arq.handleInput(0x20, packetOf({ conv: 0x0badcafe, sn: 0, ts: 0x10, data: fromHex("0200000003000000") }));
  assert.equal(flushHex(arq, 0x20).length, 1);
  arq.read();
  arq.handleInput(
    0x65,
    packetOf({ conv: 0x0badcafe, sn: 1, ts: 0x64, data: fromHex("0202050003000000 68656c6c6f") }),
  );
  arq.read();
  arq.send(fromHex("02 04 08 00 03 00 00 00 05 00 00 00 00 00 10 00"), 0);
  assert.deepEqual(flushHex(arq, 0x65), [
    hex(
      "fe ca ad 0b 52 00 ff ff 64 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00" +
        "fe ca ad 0b 51 00 ff ff 65 00 00 00 00 00 00 00 02 00 00 00 10 00 00 00" +
        "02 04 08 00 03 00 00 00 05 00 00 00 00 00 10 00",
    ),
  ]);
});

Deno.test("Arq K9, KCP-SMUX.md §6: PSH hello at rcv_nxt 1 is readable and acked at once", () => {
  const arq = new Arq(0x0badcafe, SNOWFLAKE_KCP_OPTIONS, { initialSn: 1 });
  const k9 = fromHex(
    "fe ca ad 0b 51 00 ff ff 66 00 00 00 01 00 00 00 00 00 00 00 0d 00 00 00 02 02 05 00 03 00 00 00 68 65 6c 6c 6f",
  );
  assert.equal(arq.handleInput(0x70, k9), null);
  assert.deepEqual(flushHex(arq, 0x70, true), [
    hex("fe ca ad 0b 52 00 fe ff 66 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00"),
  ]);
  assert.equal(toHex(arq.read()!), hex("02 02 05 00 03 00 00 00 68 65 6c 6c 6f"));
});

Deno.test("Arq negative vectors, KCP-SMUX.md §6: kcp-go's Input −1/−2/−3 as typed errors", () => {
  const arq = new Arq(0x11223344, SNOWFLAKE_KCP_OPTIONS);
  const k1 = "44 33 22 11 51 00 ff ff e8 03 00 00 00 00 00 00 00 00 00 00 05 00 00 00 68 65 6c 6c 6f";
  const code = (packet: Uint8Array) => arq.handleInput(0, packet)?.code;
  assert.equal(code(fromHex(k1.replace("44 33 22 11", "44 33 22 12"))), "conv-mismatch", "another conv (−1)");
  assert.equal(code(fromHex("44 33 22 11 63 00 ff ff" + " 00".repeat(16))), "bad-command", "cmd 99 (−3)");
  assert.equal(code(fromHex(k1).subarray(0, 23)), "short-packet", "23 bytes (−1)");
  assert.equal(
    code(fromHex(k1.replace("05 00 00 00 68 65 6c 6c 6f", "03 00 00 00 68 65"))),
    "bad-length",
    "len 3, 2 bytes (−2)",
  );
  assert.equal(arq.read(), null, "nothing got through");
  // a bad segment after a good one: the good one stays processed, the bad one's wnd is not applied
  const good = fromHex(k1);
  const bad = fromHex("44 33 22 11 63 00 00 00" + " 00".repeat(16));
  const error = arq.handleInput(0, new Uint8Array([...good, ...bad]));
  assert.ok(error instanceof KcpError && error.code === "bad-command");
  assert.equal(arq.rmtWnd, 65535);
  assert.equal(new TextDecoder().decode(arq.read()!), "hello");
});
