/** Seeded random and mutated inputs to every decoder: only MessageError, never another exception or a hang. */
import assert from "node:assert/strict";
import { Prng } from "../util/netem.ts";
import { decodeClientPollRequest, decodeClientPollResponse } from "../../lib/messages/client_poll.ts";
import { decodeProxyPollRequest, decodeProxyPollResponse } from "../../lib/messages/proxy_poll.ts";
import { decodeProxyAnswerRequest, decodeProxyAnswerResponse } from "../../lib/messages/proxy_answer.ts";
import { decodeAmpArmor, encodeAmpArmor } from "../../lib/messages/amp_armor.ts";
import { decodeAmpPath } from "../../lib/messages/amp_path.ts";
import { parseSessionDescription } from "../../lib/messages/session_description.ts";
import { MessageError } from "../../lib/messages/errors.ts";

const SEEDS = [
  '1.0\n{"offer":"{\\"type\\":\\"offer\\",\\"sdp\\":\\"v=0\\\\r\\\\n\\"}","nat":"unknown","fingerprint":""}',
  '{"Sid":"abc","Version":"1.3","Type":"standalone","NAT":"unknown","Clients":0,"AcceptedRelayPattern":"x$"}',
  '{"Status":"client match","Offer":"O","NAT":"","RelayURL":"wss://x/"}',
  '{"Version":"1.3","Sid":"S","Answer":"A"}',
  encodeAmpArmor(new TextEncoder().encode('{"answer":"x"}')),
  "0AAAAAAAAAAAA/MS4wCnt9",
];
const ALPHABET = '{}[]":,\\n01.<>/!-=pre &#;ab\u00e9\ud800';

function mutate(random: () => number, text: string): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (out.length + 1));
    const op = random();
    const c = ALPHABET[Math.floor(random() * ALPHABET.length)];
    if (op < 0.4) out = out.slice(0, at) + c + out.slice(at);
    else if (op < 0.8) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at);
  }
  return out;
}

const DECODERS: [string, (text: string) => unknown][] = [
  ["client poll request", (t) => decodeClientPollRequest(new TextEncoder().encode(t))],
  ["client poll response", decodeClientPollResponse],
  ["proxy poll request", decodeProxyPollRequest],
  ["proxy poll response", decodeProxyPollResponse],
  ["proxy answer request", decodeProxyAnswerRequest],
  ["proxy answer response", decodeProxyAnswerResponse],
  ["AMP armor", decodeAmpArmor],
  ["AMP path", decodeAmpPath],
  ["session description", (t) => parseSessionDescription(t)],
];

Deno.test("fuzz: every decoder throws only MessageError on 20,000 mutated inputs", () => {
  const prng = new Prng(20251125);
  const random = () => prng.next();
  let rejected = 0;
  for (let i = 0; i < 20_000; i++) {
    const input = mutate(random, SEEDS[i % SEEDS.length]);
    const [name, decode] = DECODERS[Math.floor(random() * DECODERS.length)];
    try {
      decode(input);
    } catch (error) {
      assert.ok(error instanceof MessageError, `${name} threw ${error} on ${JSON.stringify(input)}`);
      rejected++;
    }
  }
  assert.ok(
    rejected > 1000,
    `only ${rejected} inputs were rejected: the mutations are too mild to test anything`,
  );
});
