/**
 * The one executable: `snowflake <subcommand> [flags]`. Each subcommand lives in
 * its own file under cli/ and only parses flags and wires lib/ pieces together.
 */

import denoJson from "../deno.json" with { type: "json" };

/** A subcommand's entry point: gets the arguments after its name, returns the exit status. */
export type SubcommandMain = (args: string[]) => Promise<number>;

interface Subcommand {
  summary: string;
  load: () => Promise<SubcommandMain>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  broker: {
    summary: "rendezvous between clients and proxies",
    load: async () => (await import("./broker.ts")).main,
  },
  client: {
    summary: "Tor PT client: SOCKS5, rendezvous, WebRTC to proxies, one Turbo Tunnel session across them",
    load: async () => (await import("./client.ts")).main,
  },
  proxy: {
    summary: "volunteer proxy: polls the broker, relays clients' WebRTC data channels to the bridge",
    load: async () => (await import("./proxy.ts")).main,
  },
  server: {
    summary: "bridge side: Tor PT server with Turbo Tunnel over WebSocket",
    load: async () => (await import("./server.ts")).main,
  },
};

export const VERSION = denoJson.version;

function help(): string {
  const names = Object.keys(SUBCOMMANDS).sort();
  const width = Math.max(8, ...names.map((name) => name.length));
  return [
    `snowflake ${VERSION}: Snowflake pluggable transport with Turbo Tunnel, for Deno`,
    "",
    "Usage: snowflake <subcommand> [flags]",
    "       snowflake <subcommand> -h      flags of one subcommand",
    "",
    "Subcommands:",
    ...names.map((name) => `  ${name.padEnd(width)}  ${SUBCOMMANDS[name].summary}`),
    "",
    "Flags:",
    "  -h, --help     this text",
    "  --version      print the version and exit",
  ].join("\n");
}

/** Runs the command line `args`; returns the exit status. */
export async function run(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined || ["-h", "-help", "--help", "help"].includes(first)) {
    console.log(help());
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-version" || first === "version") {
    console.log(`snowflake ${VERSION}`);
    return 0;
  }
  const subcommand = SUBCOMMANDS[first];
  if (!subcommand) {
    console.error(`snowflake: unknown subcommand "${first}"\n\n${help()}`);
    return 2;
  }
  const main = await subcommand.load();
  return await main(rest);
}

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
