import assert from "node:assert/strict";
import {
  decodeClientPollRequest,
  decodeClientPollResponse,
  decodeLegacyClientPollRequest,
  decodeLegacyClientPollResponse,
  encodeClientPollRequest,
  encodeClientPollResponse,
  encodeLegacyClientPollRequest,
  encodeLegacyClientPollResponse,
  isLegacyClientPoll,
  STR_NO_PROXIES,
  STR_TIMED_OUT,
} from "../../lib/messages/client_poll.ts";
import { DEFAULT_BRIDGE_FINGERPRINT } from "../../lib/messages/fingerprint.ts";
import { MessageError } from "../../lib/messages/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

// SNOWFLAKE-PROTOCOL.md §4.2 "Example (computed)".
const GOLDEN_REQUEST =
  '1.0\n{"offer":"{\\"type\\":\\"offer\\",\\"sdp\\":\\"v=0\\\\r\\\\n\\"}","nat":"unknown",' +
  '"fingerprint":"2B280B23E1107BB62ABFC40DDCC8824814F80A72"}';
const OFFER = '{"type":"offer","sdp":"v=0\\r\\n"}';

Deno.test("client poll request, SNOWFLAKE-PROTOCOL.md §4.2 example: encode", () => {
  assert.equal(
    dec(encodeClientPollRequest({ offer: OFFER, nat: "unknown", fingerprint: "" })),
    GOLDEN_REQUEST,
  );
});

Deno.test("client poll request, SNOWFLAKE-PROTOCOL.md §4.2 example: decode", () => {
  assert.deepEqual(decodeClientPollRequest(enc(GOLDEN_REQUEST)), {
    offer: OFFER,
    nat: "unknown",
    fingerprint: DEFAULT_BRIDGE_FINGERPRINT,
  });
});

Deno.test("client poll request: defaults, case-insensitive keys, 32-byte fingerprint", () => {
  assert.deepEqual(decodeClientPollRequest(enc('1.0\n{"offer":"x"}')), {
    offer: "x",
    nat: "unknown",
    fingerprint: DEFAULT_BRIDGE_FINGERPRINT,
  });
  const fp32 = "ab".repeat(32);
  assert.deepEqual(
    decodeClientPollRequest(enc(`1.0\n{"OFFER":"x","Nat":"restricted","fingerprint":"${fp32}"}`)),
    {
      offer: "x",
      nat: "restricted",
      fingerprint: fp32.toUpperCase(),
    },
  );
});

Deno.test("client poll request: malformed bodies get Go's error texts", () => {
  const cases: [string, string | RegExp][] = [
    ["", "unsupported message version"], // no LF at all
    ['{"offer":"x"}', "unsupported message version"], // no version line
    ['1.1\n{"offer":"x"}', "unsupported message version"],
    ['1.0\r\n{"offer":"x"}', "unsupported message version"], // version line must be exactly "1.0"
    ["1.0\n{}", "no supplied offer"],
    ['1.0\n{"offer":""}', "no supplied offer"],
    ['1.0\n{"offer":"x","fingerprint":"abcd"}', "cannot decode fingerprint"],
    ['1.0\n{"offer":"x","fingerprint":"zz' + "0".repeat(38) + '"}', "cannot decode fingerprint"],
    ['1.0\n{"offer":"x","nat":"symmetric"}', "invalid NAT type"],
    ["1.0\n{", /^invalid JSON/],
    ["1.0\n[]", /cannot unmarshal array/],
    ['1.0\n{"offer":5}', /cannot unmarshal number/],
  ];
  for (const [body, expected] of cases) {
    assert.throws(() => decodeClientPollRequest(enc(body)), (error: unknown) => {
      assert.ok(error instanceof MessageError, `${JSON.stringify(body)}: ${error}`);
      if (typeof expected === "string") assert.equal(error.message, expected, JSON.stringify(body));
      else assert.match(error.message, expected, JSON.stringify(body));
      return true;
    });
  }
});

Deno.test("client poll response: encode with omitempty, decode", () => {
  assert.equal(dec(encodeClientPollResponse({ answer: "A<>&" })), '{"answer":"A\\u003c\\u003e\\u0026"}');
  assert.equal(dec(encodeClientPollResponse({ error: STR_NO_PROXIES })), `{"error":"${STR_NO_PROXIES}"}`);
  assert.deepEqual(decodeClientPollResponse('{"answer":"A"}'), { answer: "A" });
  assert.deepEqual(decodeClientPollResponse(`{"error":"${STR_TIMED_OUT}"}`), { error: STR_TIMED_OUT });
  assert.throws(() => decodeClientPollResponse("{}"), /received empty broker response/);
  assert.throws(() => decodeClientPollResponse('{"answer":""}'), /received empty broker response/);
});

Deno.test("legacy client poll: request and response mapping (§4.3)", () => {
  const { body, headers } = encodeLegacyClientPollRequest(OFFER, "restricted");
  assert.ok(isLegacyClientPoll(body));
  assert.ok(!isLegacyClientPoll(enc(GOLDEN_REQUEST)));
  assert.deepEqual(decodeLegacyClientPollRequest(body, headers["Snowflake-NAT-Type"]), {
    offer: OFFER,
    nat: "restricted",
    fingerprint: DEFAULT_BRIDGE_FINGERPRINT,
  });
  assert.equal(decodeLegacyClientPollRequest(body, null).nat, "unknown");
  assert.throws(() => decodeLegacyClientPollRequest(body, "bogus"), /invalid NAT type/);

  const ok = encodeLegacyClientPollResponse({ answer: "ANSWER" });
  assert.equal(ok.status, 200);
  assert.equal(dec(ok.body), "ANSWER");
  assert.equal(encodeLegacyClientPollResponse({ error: STR_NO_PROXIES }).status, 503);
  assert.equal(encodeLegacyClientPollResponse({ error: STR_TIMED_OUT }).status, 504);
  assert.equal(encodeLegacyClientPollResponse({ error: STR_TIMED_OUT }).body.length, 0);

  assert.deepEqual(decodeLegacyClientPollResponse(200, enc("ANSWER")), { answer: "ANSWER" });
  assert.deepEqual(decodeLegacyClientPollResponse(503, new Uint8Array()), { error: STR_NO_PROXIES });
  assert.deepEqual(decodeLegacyClientPollResponse(504, new Uint8Array()), { error: STR_TIMED_OUT });
  assert.throws(() => decodeLegacyClientPollResponse(500, new Uint8Array()), MessageError);
});
