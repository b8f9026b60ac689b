import assert from "node:assert/strict";
import {
  clientMatchResponse,
  decodeProxyPollRequest,
  decodeProxyPollResponse,
  encodeProxyPollRequest,
  encodeProxyPollResponse,
  noClientResponse,
  STATUS_INCORRECT_RELAY_PATTERN,
} from "../../lib/messages/proxy_poll.ts";
import {
  decodeProxyAnswerRequest,
  decodeProxyAnswerResponse,
  encodeProxyAnswerRequest,
  encodeProxyAnswerResponse,
} from "../../lib/messages/proxy_answer.ts";
import { MessageError } from "../../lib/messages/errors.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

// SNOWFLAKE-PROTOCOL.md §4.5 "Example from the Go proxy (computed)".
const GOLDEN_POLL =
  '{"Sid":"abc","Version":"1.3","Type":"standalone","NAT":"unknown","Clients":0,"AcceptedRelayPattern":"snowflake.torproject.net$"}';

Deno.test("proxy poll request, SNOWFLAKE-PROTOCOL.md §4.5 example: encode and decode", () => {
  const encoded = encodeProxyPollRequest({
    sid: "abc",
    type: "standalone",
    nat: "unknown",
    clients: 0,
    acceptedRelayPattern: "snowflake.torproject.net$",
  });
  assert.equal(dec(encoded), GOLDEN_POLL);
  assert.deepEqual(decodeProxyPollRequest(GOLDEN_POLL), {
    sid: "abc",
    version: "1.3",
    type: "standalone",
    nat: "unknown",
    clients: 0,
    acceptedRelayPattern: "snowflake.torproject.net$",
  });
});

Deno.test("proxy poll request: legacy proxy, unknown type, lower-case keys (§4.5, §4.12)", () => {
  assert.deepEqual(
    decodeProxyPollRequest('{"sid":"s","version":"1.0","type":"my-embed","nat":"","clients":8}'),
    {
      sid: "s",
      version: "1.0",
      type: "unknown",
      nat: "unknown",
      clients: 8,
    },
  );
  // null means "absent" for the pointer field: a legacy proxy.
  const nullPattern = decodeProxyPollRequest('{"Sid":"s","Version":"1.2","AcceptedRelayPattern":null}');
  assert.equal(nullPattern.acceptedRelayPattern, undefined);
  const emptyPattern = decodeProxyPollRequest('{"Sid":"s","Version":"1.2","AcceptedRelayPattern":""}');
  assert.equal(emptyPattern.acceptedRelayPattern, "");
});

Deno.test("proxy poll request: malformed bodies", () => {
  const cases: [string, string | RegExp][] = [
    ["", /invalid JSON/],
    ["not json", /invalid JSON/],
    ['"string"', /cannot unmarshal string/],
    ["null", "using unknown version"], // Go: null leaves every field empty
    ['{"Sid":"s"}', "using unknown version"],
    ['{"Sid":"s","Version":"2.0"}', "using unknown version"],
    ['{"Sid":"s","Version":"11.0"}', "using unknown version"],
    ['{"Version":"1.3"}', "no supplied session id"],
    ['{"Sid":"s","Version":"1.3","NAT":"full cone"}', "invalid NAT type"],
    ['{"Sid":"s","Version":"1.3","Clients":"8"}', /cannot unmarshal string into field Clients/],
    ['{"Sid":"s","Version":"1.3","Clients":1.5}', /cannot unmarshal number into field Clients/],
    ['{"Sid":1,"Version":"1.3"}', /cannot unmarshal number into field Sid/],
  ];
  for (const [body, expected] of cases) {
    assert.throws(() => decodeProxyPollRequest(body), (error: unknown) => {
      assert.ok(error instanceof MessageError, body);
      if (typeof expected === "string") assert.equal(error.message, expected, body);
      else assert.match(error.message, expected, body);
      return true;
    });
  }
});

Deno.test("proxy poll response, SNOWFLAKE-PROTOCOL.md §4.5 table: exact Go bodies", () => {
  assert.equal(
    dec(encodeProxyPollResponse(noClientResponse())),
    '{"Status":"no match","Offer":"","NAT":"","RelayURL":""}',
  );
  assert.equal(
    dec(encodeProxyPollResponse(noClientResponse(STATUS_INCORRECT_RELAY_PATTERN))),
    '{"Status":"incorrect relay pattern","Offer":"","NAT":"","RelayURL":""}',
  );
  assert.equal(
    dec(encodeProxyPollResponse(clientMatchResponse('{"type":"offer"}', "restricted", "wss://r.example/"))),
    '{"Status":"client match","Offer":"{\\"type\\":\\"offer\\"}","NAT":"restricted","RelayURL":"wss://r.example/"}',
  );
});

Deno.test("proxy poll response: proxy-side decoding rules (§4.5)", () => {
  assert.deepEqual(
    decodeProxyPollResponse('{"Status":"client match","Offer":"O","NAT":"","RelayURL":"wss://x/"}'),
    {
      offer: "O",
      nat: "unknown",
      relayURL: "wss://x/",
    },
  );
  assert.deepEqual(decodeProxyPollResponse('{"Status":"no match","Offer":"ignored"}'), {
    offer: "",
    nat: "unknown",
    relayURL: "",
  });
  assert.throws(() => decodeProxyPollResponse("{}"), /received invalid data/);
  assert.throws(() => decodeProxyPollResponse('{"Status":"client match"}'), /no supplied offer/);
  assert.throws(
    () => decodeProxyPollResponse('{"Status":"incorrect relay pattern"}'),
    /^MessageError: incorrect relay/,
  );
});

Deno.test("proxy answer request and response (§4.6)", () => {
  assert.equal(
    dec(encodeProxyAnswerRequest({ sid: "S", answer: "A" })),
    '{"Version":"1.3","Sid":"S","Answer":"A"}',
  );
  assert.deepEqual(decodeProxyAnswerRequest('{"Version":"1.3","Sid":"S","Answer":"A"}'), {
    version: "1.3",
    sid: "S",
    answer: "A",
  });
  assert.throws(
    () => decodeProxyAnswerRequest('{"Version":"0.9","Sid":"S","Answer":"A"}'),
    /using unknown version/,
  );
  assert.throws(() => decodeProxyAnswerRequest('{"Version":"1.3","Sid":"S"}'), /no supplied sid or answer/);
  assert.throws(
    () => decodeProxyAnswerRequest('{"Version":"1.3","Answer":"A"}'),
    /no supplied sid or answer/,
  );
  assert.throws(() => decodeProxyAnswerRequest("{"), /invalid JSON/);

  assert.equal(dec(encodeProxyAnswerResponse(true)), '{"Status":"success"}');
  assert.equal(dec(encodeProxyAnswerResponse(false)), '{"Status":"client gone"}');
  assert.equal(decodeProxyAnswerResponse('{"Status":"success"}'), true);
  assert.equal(decodeProxyAnswerResponse('{"Status":"client gone"}'), false);
  assert.throws(() => decodeProxyAnswerResponse("{}"), /received invalid data/);
});
