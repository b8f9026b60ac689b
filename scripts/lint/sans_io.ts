/**
 * Lint rule `snowflake/sans-io` (scripts/lint/plugin.ts): the protocol
 * layers' state machines and codecs are sans-I/O (STYLE.md, "Layers are
 * sans-I/O state machines"), and this holds them to it. In a file listed in
 * {@link SANS_IO_FILES}, it reports:
 *
 * - reading a clock: `Date.now()`, `performance.now()`, `new Date()`,
 *   `Date()`, or importing `systemClock` (time comes in as `now`);
 * - setting a timer: `setTimeout`, `setInterval`, `setImmediate`,
 *   `queueMicrotask`, `requestAnimationFrame` (the adapter arms the one
 *   timer from `pollTimeout()`);
 * - I/O: any use of `Deno.*` (types excepted), `fetch`, `WebSocket`,
 *   `Worker`, and imports of `node:` I/O modules.
 *
 * A file joins the list when it becomes a machine or a codec; the test
 * (tests/lint/sans_io_test.ts) checks every listed file exists.
 */

/** Files that must stay sans-I/O, relative to the repository root; an entry ending in `/` is a whole folder. */
export const SANS_IO_FILES: readonly string[] = [
  // KCP: the ARQ machine and its parts, the segment codec.
  "lib/kcp/arq.ts",
  "lib/kcp/congestion.ts",
  "lib/kcp/packet_writer.ts",
  "lib/kcp/receive_buffer.ts",
  "lib/kcp/ring.ts",
  "lib/kcp/rtt.ts",
  "lib/kcp/segment.ts",
  "lib/kcp/send_queue.ts",
  "lib/kcp/slab_store.ts",
  // smux: the session/stream machine and its parts, the frame codec.
  "lib/smux/machine.ts",
  "lib/smux/stream_state.ts",
  "lib/smux/transmit_queue.ts",
  "lib/smux/keepalive.ts",
  "lib/smux/frame.ts",
  "lib/smux/frame_reader.ts",
  // Turbo Tunnel: the multipath scheduler and its parts.
  "lib/turbotunnel/multipath_scheduler.ts",
  "lib/turbotunnel/delivery_tracker.ts",
  "lib/turbotunnel/carrier_estimate.ts",
  // The broker's matcher.
  "lib/broker/matcher.ts",
  "lib/broker/proxy_heap.ts",
  "lib/broker/deadline_queue.ts",
  "lib/broker/nat_policy.ts",
  // PT: the ExtORPort handshake and SOCKS5 machines.
  "lib/pt/extorport_handshake.ts",
  "lib/pt/socks_machine.ts",
  // Encapsulation codec and decoder.
  "lib/encapsulation/codec.ts",
  "lib/encapsulation/decoder.ts",
  // the server's WebSocket codec and connection state
  "lib/websocket/frame.ts",
  "lib/websocket/protocol.ts",
  "lib/websocket/handshake.ts",
  "lib/server/connection/preamble.ts",
  "lib/server/connection/downstream_batch.ts",
  "lib/server/operations/deadline_sweeper.ts",
  "lib/server/operations/log_limiter.ts",
  // The client's dead-proxy rule and ICE server choice.
  "lib/client/liveness.ts",
  "lib/client/ice_servers.ts",
  // The proxy's poll machine; NAT discovery and the STUN codec.
  "lib/proxy/poll_machine.ts",
  "lib/nat/discovery.ts",
  "lib/nat/stun_message.ts",
  "lib/nat/stun_attributes.ts",
  // The client's dead-proxy rule; the proxy's bandwidth bucket; the server's client map and send queues.
  "lib/client/liveness.ts",
  "lib/proxy/token_bucket.ts",
  "lib/turbotunnel/client_map.ts",
  "lib/turbotunnel/send_queue.ts",
  // Every broker message codec, shared by the three roles.
  "lib/messages/",
];

const CLOCK_MEMBERS: Record<string, string> = { Date: "now", performance: "now" };
const TIMERS = new Set([
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "requestAnimationFrame",
]);
const IO_GLOBALS = new Set(["fetch", "WebSocket", "Worker"]);
const IO_MODULES =
  /^node:(fs|fs\/promises|net|dgram|http|https|http2|tls|child_process|timers|timers\/promises|dns|worker_threads)$/;

function isListed(filename: string): boolean {
  const path = filename.replaceAll("\\", "/");
  return SANS_IO_FILES.some((entry) =>
    entry.endsWith("/")
      ? path.startsWith(entry) || path.includes(`/${entry}`)
      : path === entry || path.endsWith(`/${entry}`)
  );
}

/** The name a callee or constructor refers to: `x` in `x()`, `globalThis.x()`, `window.x()`. */
function globalName(node: Deno.lint.Node): string | undefined {
  if (node.type === "Identifier") return node.name;
  if (
    node.type === "MemberExpression" && !node.computed && node.object.type === "Identifier" &&
    (node.object.name === "globalThis" || node.object.name === "window" || node.object.name === "self") &&
    node.property.type === "Identifier"
  ) {
    return node.property.name;
  }
  return undefined;
}

/** The rule; see the module doc. */
export const sansIoRule: Deno.lint.Rule = {
  create(context) {
    if (!isListed(context.filename)) return {};
    const report = (node: Deno.lint.Node, what: string) =>
      context.report({
        node,
        message: `${what} in a sans-I/O state machine`,
        hint: "take time as a `now` argument and return the next wake-up from pollTimeout(); " +
          "the adapter beside the machine owns the clock, the timer and the I/O",
      });
    const checkCall = (node: Deno.lint.CallExpression | Deno.lint.NewExpression) => {
      const name = globalName(node.callee);
      if (name === undefined) return;
      if (name === "Date") {
        report(node, `${node.type === "NewExpression" ? "new Date()" : "Date()"} reads the clock`);
      } else if (TIMERS.has(name)) report(node, `${name}() sets a timer`);
      else if (IO_GLOBALS.has(name)) report(node, `${name} does I/O`);
    };
    return {
      CallExpression: checkCall,
      NewExpression: checkCall,
      MemberExpression(node) {
        if (node.computed || node.object.type !== "Identifier" || node.property.type !== "Identifier") return;
        const object = node.object.name;
        if (CLOCK_MEMBERS[object] === node.property.name) report(node, `${object}.now() reads the clock`);
        else if (object === "Deno") report(node, `Deno.${node.property.name} does I/O`);
      },
      ImportDeclaration(node) {
        if (IO_MODULES.test(node.source.value)) report(node, `importing ${node.source.value} (I/O)`);
        for (const specifier of node.specifiers) {
          if (specifier.type === "ImportSpecifier" && specifier.imported.type === "Identifier") {
            if (specifier.imported.name === "systemClock") report(specifier, "systemClock reads the clock");
          }
        }
      },
    };
  },
};
