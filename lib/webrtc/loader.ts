/**
 * Finds and opens the native shim (libsnowflake_webrtc.so), in this order:
 *
 * 1. the path in `SNOWFLAKE_WEBRTC_LIB`;
 * 2. beside the executable (`Deno.execPath()`'s directory), for installs that
 *    ship the library next to the compiled `snowflake` binary;
 * 3. build/ffi/ of this checkout (where `deno task build:ffi` puts it);
 * 4. the copy embedded by `deno compile --include build/ffi/libsnowflake_webrtc.so`:
 *    it lives in the binary's virtual file system, which dlopen cannot read, so
 *    it is copied to a temporary file, opened, and the file removed at once.
 *
 * A missing library is one line that says how to build it.
 */

import { ABI_VERSION, LIBRARY_FILE, type NativeLibrary, SYMBOLS } from "./symbols.ts";
import { WebRTCLibraryError } from "./errors.ts";

export const LIBRARY_ENV = "SNOWFLAKE_WEBRTC_LIB";

/** Where step 3 and 4 look: build/ffi/ relative to this module. */
const BUILD_URL = new URL(`../../build/ffi/${LIBRARY_FILE}`, import.meta.url);

/** Opens the library, trying the places in the module doc in order. */
export function loadNativeLibrary(): NativeLibrary {
  const fromEnv = readEnv(LIBRARY_ENV);
  if (fromEnv) return open(fromEnv, `${LIBRARY_ENV}=${fromEnv}`);

  const besideExecutable = `${dirname(Deno.execPath())}/${LIBRARY_FILE}`;
  if (isFile(besideExecutable)) return open(besideExecutable, besideExecutable);

  if (BUILD_URL.protocol === "file:") {
    const built = decodeURIComponent(BUILD_URL.pathname);
    if (isFile(built)) {
      const library = dlopen(built);
      if (!(library instanceof Error)) return checkAbi(library, built);
      // In a compiled binary the path is in its virtual file system.
      const embedded = readEmbedded(built);
      if (!embedded) throw loadError(built, library);
      return openCopy(embedded, built);
    }
  }
  throw new WebRTCLibraryError(
    `WebRTC library ${LIBRARY_FILE} not found (${LIBRARY_ENV} unset, not beside ${Deno.execPath()}, ` +
      `not in build/ffi/): build it with \`deno task build:ffi\``,
  );
}

function open(path: string, where: string): NativeLibrary {
  const library = dlopen(path);
  if (library instanceof Error) throw loadError(where, library);
  return checkAbi(library, where);
}

function dlopen(path: string): NativeLibrary | Error {
  try {
    return Deno.dlopen(path, SYMBOLS);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function loadError(where: string, error: Error): WebRTCLibraryError {
  return new WebRTCLibraryError(`cannot load WebRTC library ${where}: ${error.message}`);
}

function checkAbi(library: NativeLibrary, where: string): NativeLibrary {
  const version = library.symbols.swrtc_abi_version();
  if (version !== ABI_VERSION) {
    library.close();
    throw new WebRTCLibraryError(
      `WebRTC library ${where} has ABI ${version}, this binding needs ${ABI_VERSION}: rebuild it with \`deno task build:ffi\``,
    );
  }
  return library;
}

function openCopy(bytes: Uint8Array, where: string): NativeLibrary {
  const copy = Deno.makeTempFileSync({ prefix: "snowflake-webrtc-", suffix: ".so" });
  try {
    Deno.writeFileSync(copy, bytes);
    return open(copy, `${where} (embedded, copied to ${copy})`);
  } finally {
    // The mapping outlives the file: nothing is left behind in the temp dir.
    Deno.removeSync(copy);
  }
}

function readEmbedded(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch {
    return null;
  }
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: skip this step
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}
