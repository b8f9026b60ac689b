import assert from "node:assert/strict";
import { encodeCString, formatPtLine, PtMessages } from "../../lib/pt/messages.ts";

function capture(): [PtMessages, string[]] {
  const lines: string[] = [];
  return [new PtMessages((line) => lines.push(line)), lines];
}

Deno.test("encodeCString: SNOWFLAKE-PROTOCOL.md §9.5 vector", () => {
  assert.equal(
    encodeCString('hello "world"\n\tx\\y é'),
    '"hello \\042world\\042\\012\\011x\\134y \\303\\251"',
  );
  assert.equal(encodeCString(""), '""');
});

Deno.test("PtMessages: server lines as goptlib writes them", () => {
  const [pt, lines] = capture();
  pt.version();
  pt.statusVersion("snowflake", "0.1.0");
  pt.smethod("snowflake", "0.0.0.0:443", "hostname=snowflake.example,tls=yes");
  pt.smethod("other", "127.0.0.1:1");
  pt.smethodError("obfs4", "no such method");
  pt.smethodsDone();
  pt.log("notice", 'hello "world"');
  pt.envError("no TOR_PT_SERVER_BINDADDR environment variable");
  pt.versionError();
  assert.deepEqual(lines, [
    "VERSION 1",
    'STATUS TYPE=version IMPLEMENTATION="snowflake" VERSION="0.1.0"',
    "SMETHOD snowflake 0.0.0.0:443 ARGS:hostname=snowflake.example,tls=yes",
    "SMETHOD other 127.0.0.1:1",
    "SMETHOD-ERROR obfs4 no such method",
    "SMETHODS DONE",
    'LOG SEVERITY=notice MESSAGE="hello \\042world\\042"',
    "ENV-ERROR no TOR_PT_SERVER_BINDADDR environment variable",
    "VERSION-ERROR no-version",
  ]);
});

Deno.test("PtMessages: client lines", () => {
  const [pt, lines] = capture();
  pt.cmethod("snowflake", "127.0.0.1:4000");
  pt.cmethodError("obfs4", "no such method");
  pt.cmethodsDone();
  pt.proxyDone();
  pt.proxyError("proxy is not supported");
  assert.deepEqual(lines, [
    "CMETHOD snowflake socks5 127.0.0.1:4000",
    "CMETHOD-ERROR obfs4 no such method",
    "CMETHODS DONE",
    "PROXY DONE",
    "PROXY-ERROR proxy is not supported",
  ]);
});

Deno.test("formatPtLine: bad keywords refused, unsafe argument bytes replaced", () => {
  assert.throws(() => formatPtLine("BAD KEYWORD"), RangeError);
  assert.throws(() => formatPtLine("É"), RangeError);
  assert.equal(formatPtLine("ENV-ERROR", "bad\nvalue é\0"), "ENV-ERROR bad?value ??");
});
