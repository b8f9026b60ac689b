/** `deno run -A cli/main.ts broker ...` as a subprocess: HTTP and TLS, a full rendezvous, flag errors, shutdown. */
import assert from "node:assert/strict";
import { runBroker, startBroker } from "./broker_process.ts";
import { encodeClientPollRequest } from "../../lib/messages/client_poll.ts";

const OFFER = '{"type":"offer","sdp":"v=0\\r\\n"}';
const ANSWER = '{"type":"answer","sdp":"v=0\\r\\n"}';

Deno.test("broker subprocess: full rendezvous over HTTP, metrics log, clean SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const metricsLog = `${dir}/metrics.log`;
  const broker = await startBroker([
    "--disable-tls",
    "--addr=127.0.0.1:0",
    "-disable-geoip",
    "--proxy-timeout",
    "30s",
    "--client-timeout=30s",
    "--metrics-log",
    metricsLog,
  ]);
  const base = `http://127.0.0.1:${broker.port}`;
  try {
    const robots = await fetch(`${base}/robots.txt`);
    assert.equal(await robots.text(), "User-agent: *\nDisallow: /\n");

    const proxy = fetch(`${base}/proxy`, {
      method: "POST",
      body:
        '{"Sid":"sub1","Version":"1.3","Type":"standalone","NAT":"unrestricted","Clients":0,"AcceptedRelayPattern":"snowflake.torproject.net$"}',
    });
    for (let i = 0; i < 500; i++) {
      if ((await (await fetch(`${base}/debug`)).text()).startsWith("current snowflakes available: 1")) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const client = fetch(`${base}/client`, {
      method: "POST",
      body: encodeClientPollRequest({ offer: OFFER, nat: "unknown" }),
    });
    const match = JSON.parse(await (await proxy).text());
    assert.deepEqual(match, {
      Status: "client match",
      Offer: OFFER,
      NAT: "unknown",
      RelayURL: "wss://snowflake.torproject.net/",
    });
    const answer = await fetch(`${base}/answer`, {
      method: "POST",
      body: JSON.stringify({ Version: "1.3", Sid: "sub1", Answer: ANSWER }),
    });
    assert.equal(await answer.text(), '{"Status":"success"}');
    assert.equal(await (await client).text(), JSON.stringify({ answer: ANSWER }));

    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200, "the metrics log file exists from the start");
    await metrics.body?.cancel();
  } finally {
    assert.equal(await broker.stop(), 0, broker.log.join("\n"));
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(broker.log.some((line) => line.endsWith("broker stopped")), broker.log.join("\n"));
});

Deno.test("broker subprocess: TLS from --cert/--key files", async () => {
  const dir = await Deno.makeTempDir();
  // A throwaway CA and a server certificate it signs (rustls refuses a CA certificate as the server's).
  const openssl = async (args: string[]) => {
    const result = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
      .output();
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-subj",
    "/CN=test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ]);
  await openssl(["req", ...ec, "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "server.csr"]);
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
    "-out",
    "cert.pem",
  ]);
  const broker = await startBroker([
    "-cert",
    `${dir}/cert.pem`,
    "-key",
    `${dir}/key.pem`,
    "-addr",
    "127.0.0.1:0",
    "-disable-geoip",
  ]);
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/ca.pem`)] });
  try {
    const response = await fetch(`https://localhost:${broker.port}/client`, {
      method: "POST",
      body: encodeClientPollRequest({ offer: OFFER, nat: "restricted" }),
      client,
    });
    assert.equal(await response.text(), '{"error":"no snowflake proxies currently available"}');
  } finally {
    client.close();
    assert.equal(await broker.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("broker subprocess: bad configuration is one clear line and exit status 1 or 2", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bridges.json`,
    '{"displayName":"x","webSocketAddress":"wss://x/","fingerprint":"12"}\n',
  );
  const cases: [string[], number, RegExp][] = [
    [[], 1, /the --acme-hostnames, --cert and --key, or --disable-tls option is required/],
    [["--disable-tls", "--addr", "nowhere"], 1, /--addr: address nowhere: missing port/],
    [["--disable-tls", "--bridge-list-path", `${dir}/bridges.json`], 1, /bridge list line 1: fingerprint/],
    [["--disable-tls", "--bridge-list-path", `${dir}/missing.json`], 1, /--bridge-list-path: .*No such file/],
    [["--disable-tls", "--geoipdb", `${dir}/missing`], 1, /cannot read .*missing/],
    [["--acme-hostnames", "broker.example"], 1, /ACME .* is not supported/],
    [["--cert", `${dir}/none.pem`, "--key", `${dir}/none.pem`], 1, /cannot read TLS certificate or key/],
    [["--no-such-flag"], 2, /flag provided but not defined: -no-such-flag/],
    [["--proxy-timeout", "ten"], 2, /invalid value "ten" for flag -proxy-timeout/],
  ];
  for (const [args, code, message] of cases) {
    const result = await runBroker(args);
    assert.equal(result.code, code, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(" "));
  }
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "broker", "-h"],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(help.code, 0);
  const text = new TextDecoder().decode(help.stderr); // Go's flag package prints usage to stderr
  for (
    const flag of [
      "-acme-hostnames",
      "-bridge-list-path",
      "-geoip6db",
      "-ip-count-interval",
      "-allow-unknown-nat-matching",
    ]
  ) {
    assert.ok(text.includes(`  ${flag}`), flag);
  }
  await Deno.remove(dir, { recursive: true });
});
