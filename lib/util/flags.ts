/**
 * Command-line flags with the spelling rules of Go's `flag` package, so our
 * subcommands accept the same arguments as Go Snowflake's binaries: `-name`
 * and `--name`, `-name value` and `-name=value`, booleans as `-name`,
 * `-name=true` or `-name=false` (never `-name false`). Parsing stops at the
 * first non-flag argument or after `--`. Durations use Go's syntax (`10s`,
 * `1m30s`, `500ms`) and come back in milliseconds.
 *
 * Specs carry their types, so the parsed values need no casts. Build them
 * with {@link flag} (Go's `flag.String(name, default, usage)` order), keep the
 * object's literal type (no `: FlagSpecs` annotation), and read `values`:
 *
 * ```ts
 * import { flag, parseCommandLine } from "./flags.ts";
 *
 * const FLAGS = {
 *   capacity: flag.int(0, "maximum concurrent clients"),
 *   broker: flag.string("https://snowflake-broker.torproject.net/", "broker URL"),
 *   "poll-interval": flag.duration(5_000, "time between polls", { aliases: ["poll"] }),
 *   verbose: flag.bool(false, "log debug lines"),
 * };
 * const flags = parseCommandLine("snowflake proxy", "summary for -h", FLAGS, ["-capacity", "10"]);
 * if (typeof flags !== "number") {
 *   const capacity: number = flags.values.capacity; // typed from the spec
 *   const explicit: boolean = flags.seen.has("broker"); // given on the command line?
 *   console.log(capacity, explicit, flags.values["poll-interval"]);
 * }
 * ```
 *
 * `parseCommandLine` returns a number (the exit status, usage already printed
 * to stderr) for `-h` and bad command lines; {@link parseFlags} throws
 * instead. `node:util`'s parseArgs cannot be used: it treats `-capacity` as
 * the short options `-c -a -p ...`.
 */

/** What each flag type parses to (durations: milliseconds). */
export interface FlagValueTypes {
  string: string;
  bool: boolean;
  int: number;
  float: number;
  duration: number;
}

/** The kinds of flag, named as Go's `-h` output names them. */
export type FlagType = keyof FlagValueTypes;

/** Any flag's value. */
export type FlagValue = FlagValueTypes[FlagType];

/** One flag: its type, default and help. `K` ties the default to the type. */
export type FlagSpec<K extends FlagType = FlagType> = K extends FlagType ? {
    type: K;
    /** Shown in `-h` and used when the flag is absent. Durations in ms. */
    default?: FlagValueTypes[K];
    help: string;
    /** Other names for the same flag (e.g. Go's old spelling). */
    aliases?: readonly string[];
  }
  : never;

/** A command's flags by primary name. */
export type FlagSpecs = Record<string, FlagSpec>;

/** Options of a {@link flag} builder beyond default and help. */
export interface FlagOptions {
  /** Other names for the same flag (e.g. Go's old spelling). */
  aliases?: readonly string[];
}

/** A spec whose default is given, so its value is never undefined. */
export type FlagWithDefault<K extends FlagType> = FlagSpec<K> & { default: FlagValueTypes[K] };

/** Builds one kind of spec: `(default, help, options?) => spec`. */
export type FlagBuilder<K extends FlagType> = (
  defaultValue: FlagValueTypes[K],
  help: string,
  options?: FlagOptions,
) => FlagWithDefault<K>;

function builder<K extends FlagType>(type: K): FlagBuilder<K> {
  return (defaultValue, help, options = {}) =>
    ({ type, default: defaultValue, help, ...options }) as FlagWithDefault<K>;
}

/** Typed spec builders, in the argument order of Go's `flag.String(name, default, usage)`. */
export const flag: { [K in FlagType]: FlagBuilder<K> } = {
  string: builder("string"),
  bool: builder("bool"),
  int: builder("int"),
  float: builder("float"),
  /** The default in milliseconds; `-h` shows it in Go syntax (`5s`). */
  duration: builder("duration"),
};

/**
 * The parsed value of each flag in `S`: its spec's type, or that type or
 * undefined when the spec has no default.
 */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [N in keyof S]: S[N] extends { default: unknown } ? FlagValueTypes[S[N]["type"]]
    : FlagValueTypes[S[N]["type"]] | undefined;
};

/** The outcome of {@link parseFlags}. */
export interface ParsedFlags<S extends FlagSpecs = FlagSpecs> {
  /** Every defined flag by its primary name: the given value or the default. */
  values: FlagValues<S>;
  /** Primary names of the flags that appeared on the command line. */
  seen: Set<keyof S & string>;
  /** Arguments after the flags. */
  rest: string[];
}

/** A bad command line: the message is what Go's `flag` package would print. */
export class FlagError extends Error {
  override name = "FlagError";
}

/** Thrown for `-h`/`-help`/`--help`: the caller prints {@link usage} and exits 0. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

/** Parses `args` against `specs`. Throws {@link FlagError} or {@link HelpRequested}. */
export function parseFlags<S extends FlagSpecs>(specs: S, args: string[]): ParsedFlags<S> {
  const names = Object.keys(specs) as (keyof S & string)[];
  const byName = new Map<string, keyof S & string>();
  for (const name of names) {
    byName.set(name, name);
    for (const alias of specs[name].aliases ?? []) byName.set(alias, name);
  }
  const values: Record<string, FlagValue | undefined> = {};
  for (const name of names) values[name] = specs[name].default;
  const seen = new Set<keyof S & string>();

  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg.length < 2 || arg[0] !== "-") break;
    if (arg === "--") {
      i++;
      break;
    }
    let body = arg.slice(arg[1] === "-" ? 2 : 1);
    if (body.length === 0 || body[0] === "-" || body[0] === "=") {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    let inline: string | undefined;
    const eq = body.indexOf("=");
    if (eq >= 0) {
      inline = body.slice(eq + 1);
      body = body.slice(0, eq);
    }
    const name = byName.get(body);
    if (name === undefined) {
      if (body === "h" || body === "help") throw new HelpRequested("help requested");
      throw new FlagError(`flag provided but not defined: -${body}`);
    }
    const spec = specs[name];
    let raw: string;
    if (spec.type === "bool") {
      raw = inline ?? "true";
    } else if (inline !== undefined) {
      raw = inline;
    } else {
      if (i + 1 >= args.length) throw new FlagError(`flag needs an argument: -${body}`);
      raw = args[++i];
    }
    values[name] = convert(spec.type, raw, body);
    seen.add(name);
  }
  // The loop above filled every name of S with a value of its spec's type.
  return { values: values as FlagValues<S>, seen, rest: args.slice(i) };
}

function convert(type: FlagType, raw: string, name: string): FlagValue {
  const invalid = (why: string) => new FlagError(`invalid value "${raw}" for flag -${name}: ${why}`);
  switch (type) {
    case "string":
      return raw;
    case "bool": {
      const value = parseBool(raw);
      if (value === undefined) throw invalid("parse error");
      return value;
    }
    case "int": {
      if (!/^[+-]?(0x[0-9a-fA-F]+|\d+)$/.test(raw)) throw invalid("parse error");
      const value = Number(raw);
      if (!Number.isSafeInteger(value)) throw invalid("value out of range");
      return value;
    }
    case "float": {
      const value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value)) throw invalid("parse error");
      return value;
    }
    case "duration": {
      const value = parseDuration(raw);
      if (value === undefined) throw invalid("parse error");
      return value;
    }
  }
}

function parseBool(raw: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(raw)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(raw)) return false;
  return undefined;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's `time.ParseDuration`, in milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === "0" || text === "+0" || text === "-0") return 0;
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!match) return undefined;
  let total = 0;
  for (const part of text.replace(/^[+-]/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS_MS[part[2]];
  }
  return match[1] === "-" ? -total : total;
}

/** The `-h` text: one entry per flag, as Go's `flag.PrintDefaults` lays it out. */
export function usage(command: string, summary: string, specs: FlagSpecs): string {
  const lines = [`Usage of ${command}:`, summary ? `  ${summary}` : ""].filter((line) => line !== "");
  for (const name of Object.keys(specs).sort()) {
    const spec = specs[name];
    const kind = spec.type === "bool" ? "" : ` ${spec.type}`;
    const aliases = spec.aliases?.length ? ` (also -${spec.aliases.join(", -")})` : "";
    lines.push(`  -${name}${kind}${aliases}`);
    const shown = spec.type === "duration" && typeof spec.default === "number"
      ? formatDuration(spec.default)
      : spec.default;
    const suffix = shown !== undefined && shown !== "" && shown !== false
      ? ` (default ${JSON.stringify(shown)})`
      : "";
    lines.push(`    \t${spec.help}${suffix}`);
  }
  return lines.join("\n");
}

/** Milliseconds as a Go duration string (`1m30s`, `500ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  return `${h ? h + "h" : ""}${h || m ? m + "m" : ""}${Number(rest.toFixed(3))}s`;
}

/**
 * What every subcommand does first: parse `args`, or print the usage to stderr
 * (as Go's `flag` package does) and return the exit status: 0 for `-h`, 2 for a
 * bad command line.
 */
export function parseCommandLine<S extends FlagSpecs>(
  command: string,
  summary: string,
  specs: S,
  args: string[],
): ParsedFlags<S> | number {
  try {
    return parseFlags(specs, args);
  } catch (error) {
    const text = usage(command, summary, specs);
    if (error instanceof HelpRequested) {
      console.error(text);
      return 0;
    }
    if (!(error instanceof FlagError)) throw error;
    console.error(`${error.message}\n${text}`);
    return 2;
  }
}
