/**
 * Test helper: a private network namespace for tests whose peers need
 * non-loopback addresses (pion and the Go Snowflake binaries skip loopback ICE
 * candidates). Inside it, a veth pair carries 192.0.2.1 and 192.0.2.2
 * (TEST-NET-1), so nothing leaves the machine. Needs root.
 */

/** Runs `cmd args`; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[]): Promise<void> {
  const output = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (output.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** Creates namespace `name` with lo up and a veth pair `<prefix>0` (192.0.2.1) / `<prefix>1` (192.0.2.2). */
export async function createNetns(name: string, prefix = "sft"): Promise<void> {
  await run("ip", ["netns", "add", name]);
  const inside = (...args: string[]) => run("ip", ["netns", "exec", name, "ip", ...args]);
  await inside("link", "set", "lo", "up");
  await inside("link", "add", `${prefix}0`, "type", "veth", "peer", "name", `${prefix}1`);
  await inside("addr", "add", "192.0.2.1/24", "dev", `${prefix}0`);
  await inside("addr", "add", "192.0.2.2/24", "dev", `${prefix}1`);
  await inside("link", "set", `${prefix}0`, "up");
  await inside("link", "set", `${prefix}1`, "up");
}

/** Deletes namespace `name` (and the veth pair inside it). */
export function deleteNetns(name: string): Promise<void> {
  return run("ip", ["netns", "delete", name]);
}
