/** The STUN codec against RFC 5769's test vectors, malformed shapes, and a seeded fuzz. */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { formatTcpAddr } from "../../lib/net/addr.ts";
import { fromHex } from "../../lib/util/bytes.ts";
import {
  ATTR_MESSAGE_INTEGRITY,
  ATTR_SOFTWARE,
  ATTR_USERNAME,
  ATTR_XOR_MAPPED_ADDRESS,
  decodeStunMessage,
  encodedStunLength,
  encodeStunMessage,
  encodeStunMessageBytes,
  findAttribute,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  StunError,
} from "../../lib/nat/stun_message.ts";
import {
  CHANGE_IP,
  CHANGE_PORT,
  decodeAddress,
  decodeChangeRequest,
  decodeErrorCode,
  decodeXorAddress,
  encodeAddress,
  encodeChangeRequest,
  encodeErrorCode,
  encodeXorAddress,
} from "../../lib/nat/stun_attributes.ts";

const hex = (text: string) => fromHex(text.replace(/\s+/g, ""));

// RFC 5769 §2.1 Sample Request (short-term credential password "VOkJxbRl1RmTxUk/WvJxBt").
const SAMPLE_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
// RFC 5769 §2.2 Sample IPv4 Response.
const SAMPLE_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
// RFC 5769 §2.3 Sample IPv6 Response.
const SAMPLE_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);
const PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";

/** RFC 5389 §15.4: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, its length field covering it. */
function checkIntegrity(raw: Uint8Array): void {
  const [message] = decodeStunMessage(raw);
  const mac = findAttribute(message, ATTR_MESSAGE_INTEGRITY)!;
  let at = 20;
  while (((raw[at] << 8) | raw[at + 1]) !== ATTR_MESSAGE_INTEGRITY) {
    at += 4 + Math.ceil(((raw[at + 2] << 8) | raw[at + 3]) / 4) * 4;
  }
  const prefix = raw.slice(0, at);
  new DataView(prefix.buffer).setUint16(2, at + 24 - 20);
  const expected = createHmac("sha1", PASSWORD).update(prefix).digest();
  assert.deepEqual(mac, new Uint8Array(expected));
}

Deno.test("STUN sample request, RFC 5769 §2.1: header, attributes, FINGERPRINT and MESSAGE-INTEGRITY", () => {
  const [message, next] = decodeStunMessage(SAMPLE_REQUEST);
  assert.equal(next, SAMPLE_REQUEST.length);
  assert.equal(message.type, STUN_BINDING_REQUEST);
  assert.deepEqual(message.transactionId, hex("b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"));
  assert.equal(message.fingerprint, true);
  assert.deepEqual(message.attributes.map((a) => a.type), [
    ATTR_SOFTWARE,
    0x0024,
    0x8029,
    ATTR_USERNAME,
    ATTR_MESSAGE_INTEGRITY,
  ]);
  assert.equal(new TextDecoder().decode(findAttribute(message, ATTR_SOFTWARE)), "STUN test client");
  assert.equal(new TextDecoder().decode(findAttribute(message, ATTR_USERNAME)), "evtj:h6vY");
  checkIntegrity(SAMPLE_REQUEST);
});

Deno.test("STUN sample IPv4 response, RFC 5769 §2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853", () => {
  const [message] = decodeStunMessage(SAMPLE_IPV4_RESPONSE);
  assert.equal(message.type, STUN_BINDING_SUCCESS);
  assert.equal(message.fingerprint, true);
  const xor = findAttribute(message, ATTR_XOR_MAPPED_ADDRESS)!;
  assert.equal(formatTcpAddr(decodeXorAddress(xor, message.transactionId)), "192.0.2.1:32853");
  assert.equal(new TextDecoder().decode(findAttribute(message, ATTR_SOFTWARE)), "test vector");
  checkIntegrity(SAMPLE_IPV4_RESPONSE);
});

Deno.test("STUN sample IPv6 response, RFC 5769 §2.3: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853", () => {
  const [message] = decodeStunMessage(SAMPLE_IPV6_RESPONSE);
  const xor = findAttribute(message, ATTR_XOR_MAPPED_ADDRESS)!;
  const addr = decodeXorAddress(xor, message.transactionId);
  assert.equal(formatTcpAddr(addr), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  // and back: the encoder XORs to the same bytes
  assert.deepEqual(encodeXorAddress(addr, message.transactionId), xor);
  checkIntegrity(SAMPLE_IPV6_RESPONSE);
});

Deno.test("STUN encoder: the sample IPv4 response re-encodes byte for byte (FINGERPRINT recomputed)", () => {
  const [message] = decodeStunMessage(SAMPLE_IPV4_RESPONSE);
  // SOFTWARE's padding is a space in the vector; ours is zero, so compare after setting it.
  const out = encodeStunMessageBytes(message);
  assert.equal(out.length, SAMPLE_IPV4_RESPONSE.length);
  assert.equal(encodedStunLength(message), out.length);
  const expected = SAMPLE_IPV4_RESPONSE.slice();
  expected[35] = 0; // the pad byte after "test vector"
  assert.deepEqual(out.subarray(0, out.length - 4), expected.subarray(0, expected.length - 4));
  assert.deepEqual(decodeStunMessage(out)[0], message);
});

Deno.test("STUN attributes: plain address, CHANGE-REQUEST, ERROR-CODE round trips", () => {
  const addr = { ip: new Uint8Array([192, 0, 2, 3]), port: 3479 };
  assert.deepEqual(encodeAddress(addr), hex("00 01 0d 97 c0 00 02 03"));
  assert.deepEqual(decodeAddress(encodeAddress(addr)), addr);
  assert.deepEqual(encodeChangeRequest(CHANGE_PORT), hex("00 00 00 02"));
  assert.deepEqual(encodeChangeRequest(CHANGE_IP | CHANGE_PORT), hex("00 00 00 06"));
  assert.equal(decodeChangeRequest(hex("00 00 00 04")), CHANGE_IP);
  assert.deepEqual(
    encodeErrorCode({ code: 420, reason: "Unknown Attribute" }).subarray(0, 4),
    hex("00 00 04 14"),
  );
  assert.deepEqual(decodeErrorCode(encodeErrorCode({ code: 420, reason: "Unknown Attribute" })), {
    code: 420,
    reason: "Unknown Attribute",
  });
  assert.throws(() => decodeAddress(hex("00 03 00 01 01 02 03 04")), StunError); // family 3
  assert.throws(() => decodeAddress(hex("00 01 00 01 01 02 03")), StunError); // IPv4 with 3 address bytes
  assert.throws(() => decodeChangeRequest(hex("00 00 02")), StunError); // 3 bytes
});

const HEADER = "00 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00";
const MALFORMED: [string, string][] = [
  ["00 01 00 00 21 12 a4 42", "shorter than the header"],
  [HEADER.replace("00 01", "c0 01"), "top bits set"],
  [HEADER.replace("21 12 a4 42", "21 12 a4 43"), "no magic cookie"],
  [HEADER.replace("00 01 00 00", "00 01 00 02") + " 00 00", "length not a multiple of 4"],
  [HEADER.replace("00 01 00 00", "00 01 00 08") + " 80 22 00 01", "length beyond the datagram"],
  [HEADER.replace("00 01 00 00", "00 01 00 04") + " 80 22 00 08", "attribute overruns the message"],
  [HEADER.replace("00 01 00 00", "00 01 00 08") + " 80 28 00 04 00 00 00 00", "FINGERPRINT mismatch"],
  [
    HEADER.replace("00 01 00 00", "00 01 00 0c") + " 80 28 00 08 00 00 00 00 00 00 00 00",
    "FINGERPRINT not 4 bytes",
  ],
  [
    HEADER.replace("00 01 00 00", "00 01 00 08") + " 80 22 00 05 61 62 63 64",
    "value of 5 bytes in a 4-byte body",
  ],
];

Deno.test("STUN decoder: each malformed shape is a StunError", () => {
  for (const [bytes, why] of MALFORMED) {
    assert.throws(() => decodeStunMessage(hex(bytes)), StunError, why);
  }
  // an attribute after FINGERPRINT
  const withFingerprint = encodeStunMessageBytes({
    type: STUN_BINDING_REQUEST,
    transactionId: new Uint8Array(12),
    attributes: [],
    fingerprint: true,
  });
  const trailing = new Uint8Array(withFingerprint.length + 4);
  trailing.set(withFingerprint);
  trailing.set(hex("80 22 00 00"), withFingerprint.length);
  new DataView(trailing.buffer).setUint16(2, trailing.length - 20);
  assert.throws(() => decodeStunMessage(trailing), StunError);
});

Deno.test("STUN encoder: writes at an offset and refuses a short buffer or a bad transaction ID", () => {
  const message = { type: STUN_BINDING_REQUEST, transactionId: new Uint8Array(12).fill(7), attributes: [] };
  const out = new Uint8Array(30);
  assert.equal(encodeStunMessage(message, out, 5), 25);
  assert.deepEqual(decodeStunMessage(out, 5), [{ ...message, fingerprint: false }, 25]);
  assert.throws(() => encodeStunMessage(message, new Uint8Array(19)), RangeError);
  assert.throws(() => encodeStunMessageBytes({ ...message, transactionId: new Uint8Array(11) }), RangeError);
});

/** xorshift32, seeded. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

Deno.test("STUN decoder fuzz: mutated vectors and random bytes give StunError or a message that re-encodes to itself", () => {
  const next = prng(5769);
  const seeds = [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE];
  let decoded = 0;
  for (let round = 0; round < 20_000; round++) {
    let input: Uint8Array;
    if (round % 4 === 0) {
      input = new Uint8Array(next() % 64);
      for (let i = 0; i < input.length; i++) input[i] = next();
      if (input.length >= 8 && next() % 2) {
        input.set([0, 1, 0, (input.length - 20) & 0xfc, 0x21, 0x12, 0xa4, 0x42]);
      }
    } else {
      input = seeds[next() % seeds.length].slice(0, undefined);
      const flips = 1 + (next() % 3);
      for (let f = 0; f < flips; f++) input[next() % input.length] = next();
      if (next() % 4 === 0) input = input.subarray(0, next() % input.length);
    }
    try {
      const [message] = decodeStunMessage(input);
      decoded++;
      for (const attr of message.attributes) {
        if (attr.type === ATTR_XOR_MAPPED_ADDRESS) {
          try {
            decodeXorAddress(attr.value, message.transactionId);
          } catch (error) {
            assert.ok(error instanceof StunError, String(error));
          }
        }
      }
      assert.deepEqual(decodeStunMessage(encodeStunMessageBytes(message))[0], message);
    } catch (error) {
      if (!(error instanceof StunError)) throw error;
    }
  }
  assert.ok(decoded > 0, "some mutated inputs still decode");
});
