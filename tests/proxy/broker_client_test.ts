import assert from "node:assert/strict";
import { BrokerClient, BrokerError } from "../../lib/proxy/broker_client.ts";

const FIELDS = {
  sid: "abc",
  type: "standalone",
  nat: "unknown",
  clients: 8,
  acceptedRelayPattern: "snowflake.torproject.net$",
};

/** A client whose fetch answers every request with `reply` (and records the requests). */
function clientFor(reply: (request: Request) => Response | Promise<Response>, timeoutMs?: number) {
  const requests: Request[] = [];
  const client = new BrokerClient({
    brokerUrl: new URL("https://broker.example/base/"),
    fetch: (input, init) => {
      const request = new Request(input, init);
      requests.push(request);
      return Promise.resolve(reply(request));
    },
    timeoutMs,
  });
  return { client, requests };
}

Deno.test("BrokerClient: the poll as Go sends it, and a match decoded", async () => {
  const offer = JSON.stringify({ type: "offer", sdp: "v=0\r\n" });
  const { client, requests } = clientFor(() =>
    new Response(
      JSON.stringify({ Status: "client match", Offer: offer, NAT: "restricted", RelayURL: "wss://r/" }),
    )
  );
  const reply = await client.poll(FIELDS);
  assert.deepEqual(reply, { offer, nat: "restricted", relayURL: "wss://r/" });
  const request = requests[0];
  assert.equal(request.url, "https://broker.example/base/proxy");
  assert.equal(request.method, "POST");
  assert.equal(
    await request.text(),
    '{"Sid":"abc","Version":"1.3","Type":"standalone","NAT":"unknown","Clients":8,"AcceptedRelayPattern":"snowflake.torproject.net$"}',
  );
  const noMatch = clientFor(() => new Response('{"Status":"no match","Offer":"","NAT":"","RelayURL":""}'));
  assert.equal((await noMatch.client.poll(FIELDS)).offer, "");
});

Deno.test("BrokerClient: every bad broker reply is a BrokerError, never a crash or a hang", async () => {
  const bad: [string, () => Response | Promise<Response>, RegExp][] = [
    ["junk", () => new Response("<html>hello</html>"), /bad poll reply/],
    ["truncated", () => new Response('{"Status":"client ma'), /bad poll reply/],
    ["empty", () => new Response(""), /bad poll reply/],
    ["not an object", () => new Response("[1,2,3]"), /bad poll reply/],
    ["wrong types", () => new Response('{"Status":7}'), /bad poll reply/],
    ["no status", () => new Response('{"Offer":"x"}'), /received invalid data/],
    ["match without offer", () => new Response('{"Status":"client match","Offer":""}'), /no supplied offer/],
    [
      "relay pattern refused",
      () => new Response('{"Status":"incorrect relay pattern"}'),
      /incorrect relay pattern/,
    ],
    ["status 500", () => new Response("oops", { status: 500 }), /status code 500/],
    ["status 404", () => new Response(null, { status: 404 }), /status code 404/],
    ["enormous", () => new Response(new Uint8Array(100_001).fill(0x20)), /over 100000 bytes/],
    [
      "endless",
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new Uint8Array(16_384));
            },
          }),
        ),
      /over 100000 bytes/,
    ],
    [
      "network error",
      () => Promise.reject(new TypeError("connection refused")),
      /error polling broker: connection refused/,
    ],
  ];
  for (const [name, reply, message] of bad) {
    const { client } = clientFor(reply);
    await assert.rejects(
      client.poll(FIELDS),
      (e) => e instanceof BrokerError && message.test(e.message),
      name,
    );
  }
  // Exactly the limit is fine (and then not JSON).
  const { client } = clientFor(() => new Response(new Uint8Array(100_000).fill(0x20)));
  await assert.rejects(client.poll(FIELDS), /bad poll reply/);
});

Deno.test("BrokerClient: a broker that never answers times out", async () => {
  const client = new BrokerClient({
    brokerUrl: new URL("https://broker.example/"),
    fetch: (_input, init) =>
      new Promise((_, reject) => init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason))),
    timeoutMs: 50,
  });
  await assert.rejects(client.poll(FIELDS), /error polling broker: timed out/);
});

Deno.test("BrokerClient: answers; client gone is false, junk is an error", async () => {
  const { client, requests } = clientFor(() => new Response('{"Status":"success"}'));
  assert.equal(await client.answer("abc", '{"type":"answer","sdp":"v=0"}'), true);
  assert.equal(requests[0].url, "https://broker.example/base/answer");
  assert.equal(
    await requests[0].text(),
    '{"Version":"1.3","Sid":"abc","Answer":"{\\"type\\":\\"answer\\",\\"sdp\\":\\"v=0\\"}"}',
  );
  assert.equal(
    await clientFor(() => new Response('{"Status":"client gone"}')).client.answer("a", "b"),
    false,
  );
  await assert.rejects(clientFor(() => new Response("{}")).client.answer("a", "b"), /received invalid data/);
  await assert.rejects(clientFor(() => new Response("nope")).client.answer("a", "b"), BrokerError);
});
