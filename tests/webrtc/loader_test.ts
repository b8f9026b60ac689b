/**
 * The loader's search order (lib/webrtc/loader.ts): SNOWFLAKE_WEBRTC_LIB,
 * beside the executable, build/ffi/, and the copy embedded by `deno compile
 * --include`, plus the one-line error when there is none. Each case runs a
 * copy of lib/ from a temporary directory in a separate Deno process, so that
 * only the place under test can supply the library.
 */

import assert from "node:assert/strict";
import { LIBRARY_ENV } from "../../lib/webrtc/mod.ts";

const LIB_DIR = new URL("../../lib/", import.meta.url).pathname;
const REPO_ROOT = new URL("../..", import.meta.url).pathname;
const BUILT = new URL("../../build/ffi/libsnowflake_webrtc.so", import.meta.url).pathname;

/** A temporary directory holding a copy of lib/ (and nothing else). */
async function libCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "webrtc-loader-" });
  await copyTree(LIB_DIR, `${dir}/lib`);
  return dir;
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.name.endsWith(".ts")) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Creates a peer connection from `root`/lib in a new process; returns its one line of output. */
async function probe(
  root: string,
  env: Record<string, string> = {},
  deno = Deno.execPath(),
): Promise<string> {
  const script = `import { RTCPeerConnection } from "${root}/lib/webrtc/mod.ts";
    try { const pc = new RTCPeerConnection(); console.log("opened " + pc.signalingState); pc.close(); }
    catch (e) { console.log(e.name + ": " + e.message); }`;
  const { code, stdout, stderr } = await new Deno.Command(deno, {
    args: ["eval", script],
    env: { [LIBRARY_ENV]: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).trim();
}

Deno.test("webrtc loader: no library anywhere is one line saying how to build it", async () => {
  const dir = await libCopy();
  try {
    const out = await probe(dir);
    assert.equal(out.split("\n").length, 1);
    assert.match(out, /^WebRTCLibraryError: .*libsnowflake_webrtc\.so not found.*deno task build:ffi/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webrtc loader: SNOWFLAKE_WEBRTC_LIB comes first, and a bad path there is an error naming it", async () => {
  const dir = await libCopy();
  try {
    await Deno.copyFile(BUILT, `${dir}/elsewhere.so`);
    assert.equal(await probe(dir, { [LIBRARY_ENV]: `${dir}/elsewhere.so` }), "opened stable");
    // Even with build/ffi/ at hand (the checkout's own lib/), a bad path is not skipped.
    assert.match(
      await probe(REPO_ROOT, { [LIBRARY_ENV]: `${dir}/missing.so` }),
      new RegExp(`^WebRTCLibraryError: cannot load WebRTC library ${LIBRARY_ENV}=${dir}/missing.so: `),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webrtc loader: the library beside the executable", async () => {
  const dir = await libCopy();
  try {
    // The deno binary hard-linked (or copied) into dir, the library beside it.
    const deno = `${dir}/deno`;
    await Deno.link(Deno.execPath(), deno).catch(() => Deno.copyFile(Deno.execPath(), deno));
    await Deno.copyFile(BUILT, `${dir}/libsnowflake_webrtc.so`);
    assert.equal(await probe(dir, {}, deno), "opened stable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webrtc loader: a build/ffi copy that dlopen cannot map is copied to a temporary file", async () => {
  // A compiled binary's embedded files can be read but not mapped; a noexec
  // mount (in a private mount namespace) behaves the same for dlopen.
  const dir = await libCopy();
  const mount = `${dir}/noexec`;
  try {
    await Deno.mkdir(mount);
    const script = [
      `mount -t tmpfs -o noexec none ${mount}`,
      `mkdir -p ${mount}/build/ffi && cp ${BUILT} ${mount}/build/ffi/`,
      `cp -r ${dir}/lib ${mount}/lib`,
      // Precondition: a direct dlopen fails there.
      `${Deno.execPath()} eval 'try { Deno.dlopen("${mount}/build/ffi/libsnowflake_webrtc.so", {}); console.log("mapped") } catch { console.log("unmappable") }'`,
      `TMPDIR=${dir} ${LIBRARY_ENV}= ${Deno.execPath()} eval 'import { RTCPeerConnection } from "${mount}/lib/webrtc/mod.ts"; const pc = new RTCPeerConnection(); console.log("opened " + pc.signalingState); pc.close();'`,
    ].join(" && ");
    const { code, stdout, stderr } = await new Deno.Command("unshare", { args: ["-m", "sh", "-c", script] })
      .output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    assert.deepEqual(new TextDecoder().decode(stdout).trim().split("\n"), ["unmappable", "opened stable"]);
    // The temporary copy is gone once opened.
    const left = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("snowflake-webrtc-")) left.push(entry.name);
    }
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
