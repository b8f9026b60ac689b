/**
 * Test and demo helper: a plain HTTP server on 127.0.0.1 that serves one file
 * at every path (with Content-Length): the web site fetched through tor, or
 * the stand-in for tor's ORPort behind the bridge in the demo.
 *
 * As a program: `file_server.ts PORT FILE` (0 picks a port) prints
 * `listening on port N`.
 */

export interface FileServer {
  port: number;
  /** GET requests answered so far. */
  requests: number;
  stop(): Promise<void>;
}

export function startFileServer(path: string, port = 0): FileServer {
  const state = { requests: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async () => {
    state.requests++;
    const file = await Deno.open(path);
    const { size } = await file.stat();
    return new Response(file.readable, {
      headers: { "content-length": String(size), "content-type": "application/octet-stream" },
    });
  });
  return {
    port: server.addr.port,
    get requests() {
      return state.requests;
    },
    stop: () => server.shutdown(),
  };
}

if (import.meta.main) {
  const [port, path] = Deno.args;
  const server = startFileServer(path, Number(port));
  console.log(`listening on port ${server.port}`);
  Deno.addSignalListener("SIGTERM", async () => {
    await server.stop();
    Deno.exit(0);
  });
}
