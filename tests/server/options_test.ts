import assert from "node:assert/strict";
import { PtArgs } from "../../lib/pt/args.ts";
import { parseSrcAddr, randomSrcAddr } from "../../lib/server/tunnel/src_addr.ts";
import { parseNumTurbotunnel, parseTransportOptions } from "../../lib/server/transport_options.ts";
import { ACME_UNSUPPORTED, resolveTls, TlsConfigError } from "../../lib/server/tls_config.ts";
import { encodeSmethodArgs } from "../../lib/pt/args.ts";

Deno.test("parseTransportOptions: num-turbotunnel and orport-srcaddr, Go's error texts", () => {
  assert.deepEqual(parseTransportOptions(new PtArgs()), { numTurbotunnel: 1 });
  const parsed = parseTransportOptions(
    new PtArgs().add("num-turbotunnel", "4").add("orport-srcaddr", "127.0.2.0/24"),
  );
  assert.equal(parsed.numTurbotunnel, 4);
  assert.equal(parsed.srcAddr?.bits, 24);
  const errors: [PtArgs, string][] = [
    [new PtArgs().add("num-turbotunnel", "0"), "parsing num-turbotunnel: cannot be less than 1"],
    [
      new PtArgs().add("num-turbotunnel", "x"),
      'parsing num-turbotunnel: strconv.Atoi: parsing "x": invalid syntax',
    ],
    [new PtArgs().add("num-turbotunnel", "1000"), "parsing num-turbotunnel: cannot be more than 64"],
    [new PtArgs().add("orport-srcaddr", "nowhere"), "parsing srcaddr: invalid CIDR address: nowhere"],
    [new PtArgs().add("orport-srcaddr", "1.2.3.4/33"), "parsing srcaddr: invalid CIDR address: 1.2.3.4/33"],
  ];
  for (const [args, message] of errors) assert.throws(() => parseTransportOptions(args), { message });
  assert.equal(parseNumTurbotunnel(undefined), 1);
  assert.equal(parseNumTurbotunnel("+2"), 2);
});

Deno.test("randomSrcAddr: network bits kept, host bits random", () => {
  const range = parseSrcAddr("127.0.2.0/23");
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const addr = randomSrcAddr(range);
    assert.match(addr, /^127\.0\.[23]\.\d+$/);
    seen.add(addr);
  }
  assert.ok(seen.size > 50);
  assert.equal(randomSrcAddr(parseSrcAddr("10.9.8.7")), "10.9.8.7");
  assert.equal(randomSrcAddr(parseSrcAddr("2001:db8::/120"), (b) => b.fill(0xff)), "2001:db8::ff");
  assert.equal(randomSrcAddr(parseSrcAddr("127.0.2.0/25"), (b) => b.fill(0xff)), "127.0.2.127");
});

Deno.test("resolveTls: files, -disable-tls, and ACME refused with an explanation", () => {
  const files: Record<string, string> = { "/c.pem": "CERT", "/k.pem": "KEY" };
  const read = (path: string) => {
    if (!(path in files)) throw new Error("No such file or directory");
    return files[path];
  };
  const plain = resolveTls({ disableTls: true }, read);
  assert.equal(plain.tls, undefined);
  assert.equal(encodeSmethodArgs(plain.args), "tls=no");
  const withCert = resolveTls(
    { disableTls: false, certFile: "/c.pem", keyFile: "/k.pem", acmeHostnames: "a.example,b.example" },
    read,
  );
  assert.deepEqual(withCert.tls, { cert: "CERT", key: "KEY" });
  assert.equal(encodeSmethodArgs(withCert.args), "hostname=a.example,hostname=b.example,tls=yes");
  const refuse = (flags: Parameters<typeof resolveTls>[0], message: string | RegExp) =>
    assert.throws(() => resolveTls(flags, read), (error: Error) => {
      assert.ok(error instanceof TlsConfigError);
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    });
  refuse({ disableTls: false, acmeHostnames: "snowflake.example" }, ACME_UNSUPPORTED);
  refuse({ disableTls: false, acmeEmail: "me@example" }, ACME_UNSUPPORTED);
  refuse({ disableTls: false }, /TLS needs a certificate/);
  refuse({ disableTls: false, certFile: "/c.pem" }, "-cert and -key must be given together");
  refuse(
    { disableTls: true, certFile: "/c.pem", keyFile: "/k.pem" },
    "-cert/-key cannot be used with -disable-tls",
  );
  refuse(
    { disableTls: false, certFile: "/missing", keyFile: "/k.pem" },
    /reading the TLS certificate "\/missing"/,
  );
  assert.match(ACME_UNSUPPORTED, /internet/);
});
