import assert from "node:assert/strict";
import {
  flag,
  FlagError,
  type FlagSpecs,
  formatDuration,
  HelpRequested,
  parseCommandLine,
  parseDuration,
  parseFlags,
  usage,
} from "../../lib/util/flags.ts";

const SPECS: FlagSpecs = {
  capacity: { type: "int", default: 0, help: "max clients" },
  "disable-tls": { type: "bool", default: false, help: "plain HTTP" },
  broker: { type: "string", default: "https://b/", help: "broker URL" },
  "poll-interval": { type: "duration", default: 5000, help: "poll interval", aliases: ["poll"] },
  ratio: { type: "float", help: "a ratio" },
};

Deno.test("parseFlags: Go spellings", () => {
  for (const args of [["-capacity", "10"], ["--capacity", "10"], ["-capacity=10"], ["--capacity=10"]]) {
    assert.equal(parseFlags(SPECS, args).values.capacity, 10, args.join(" "));
  }
  const parsed = parseFlags(SPECS, ["-disable-tls", "--poll-interval=1m30s", "-ratio", "0.5", "rest", "-x"]);
  assert.equal(parsed.values["disable-tls"], true);
  assert.equal(parsed.values["poll-interval"], 90_000);
  assert.equal(parsed.values.ratio, 0.5);
  assert.equal(parsed.values.broker, "https://b/");
  assert.deepEqual(parsed.rest, ["rest", "-x"]);
  assert.deepEqual([...parsed.seen].sort(), ["disable-tls", "poll-interval", "ratio"]);
});

Deno.test("parseFlags: booleans take only inline values; -- ends flags; aliases", () => {
  assert.equal(parseFlags(SPECS, ["-disable-tls=false"]).values["disable-tls"], false);
  assert.deepEqual(parseFlags(SPECS, ["-disable-tls", "false"]).rest, ["false"]);
  assert.deepEqual(parseFlags(SPECS, ["--", "-capacity", "3"]).rest, ["-capacity", "3"]);
  assert.equal(parseFlags(SPECS, ["-poll", "2s"]).values["poll-interval"], 2000);
});

Deno.test("parseFlags: errors as Go words them", () => {
  assert.throws(() => parseFlags(SPECS, ["-nope"]), new FlagError("flag provided but not defined: -nope"));
  assert.throws(() => parseFlags(SPECS, ["-capacity"]), new FlagError("flag needs an argument: -capacity"));
  assert.throws(() => parseFlags(SPECS, ["-capacity=ten"]), FlagError);
  assert.throws(() => parseFlags(SPECS, ["-disable-tls=maybe"]), FlagError);
  assert.throws(() => parseFlags(SPECS, ["-poll-interval=5"]), FlagError);
  assert.throws(() => parseFlags(SPECS, ["---capacity=1"]), FlagError);
  assert.throws(() => parseFlags(SPECS, ["-h"]), HelpRequested);
  assert.throws(() => parseFlags(SPECS, ["--help"]), HelpRequested);
});

Deno.test("parseDuration / formatDuration: Go syntax", () => {
  assert.equal(parseDuration("0s"), 0);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1h2m3.5s"), 3_723_500);
  assert.equal(parseDuration("-1s"), -1000);
  assert.equal(parseDuration("10"), undefined);
  assert.equal(parseDuration("s"), undefined);
  assert.equal(formatDuration(90_000), "1m30s");
  assert.equal(formatDuration(500), "500ms");
  assert.equal(formatDuration(3_600_000), "1h0m0s");
});

Deno.test("usage lists every flag with its default", () => {
  const text = usage("snowflake proxy", "", SPECS);
  assert.match(text, /-capacity int\n\s+max clients \(default 0\)/);
  assert.match(text, /-poll-interval duration \(also -poll\)\n\s+poll interval \(default "5s"\)/);
});

Deno.test("parseCommandLine: values, or the exit status for -h and bad flags", () => {
  const parsed = parseCommandLine("cmd", "", SPECS, ["-capacity=2"]);
  assert.ok(typeof parsed !== "number");
  assert.equal(parsed.values.capacity, 2);
  const error = console.error;
  console.error = () => {};
  try {
    assert.equal(parseCommandLine("cmd", "", SPECS, ["-h"]), 0);
    assert.equal(parseCommandLine("cmd", "", SPECS, ["-nope"]), 2);
  } finally {
    console.error = error;
  }
});

Deno.test("flag builders: specs carry their types into the parsed values", () => {
  const specs = {
    capacity: flag.int(0, "max clients"),
    broker: flag.string("https://b/", "broker URL"),
    "poll-interval": flag.duration(5000, "poll interval", { aliases: ["poll"] }),
    verbose: flag.bool(false, "debug lines"),
    ratio: flag.float(0.5, "a ratio"),
  };
  const { values, seen } = parseFlags(specs, ["-capacity=3", "-poll", "1s", "-verbose"]);
  // Compile-time checks: each value has its spec's type, with no cast.
  const capacity: number = values.capacity;
  const broker: string = values.broker;
  const verbose: boolean = values.verbose;
  // @ts-expect-error: an int flag is not a string
  const wrong: string = values.capacity;
  assert.deepEqual([capacity, broker, values["poll-interval"], verbose, values.ratio, wrong], [
    3,
    "https://b/",
    1000,
    true,
    0.5,
    3,
  ]);
  assert.deepEqual([...seen].sort(), ["capacity", "poll-interval", "verbose"]);
  assert.deepEqual(specs.capacity, { type: "int", default: 0, help: "max clients" });
  assert.match(
    usage("cmd", "", specs),
    /-poll-interval duration \(also -poll\)\n\s+poll interval \(default "5s"\)/,
  );
});
