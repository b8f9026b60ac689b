/**
 * smux session configuration: the fields of Go smux's `Config`, their validation
 * (`VerifyConfig`), and the two configurations Snowflake uses.
 * See KCP-SMUX.md §8.1 (defaults and limits) and §8.2 (Snowflake's settings).
 */

import { SmuxError } from "./error.ts";

/** smux's settings (xtaci/smux `Config`; KCP-SMUX.md §6). */
export interface SmuxConfig {
  /** Protocol version, 1 or 2. Version 2 adds per-stream flow control (UPD). Snowflake uses 2. */
  version: 1 | 2;
  /** No NOPs and no idle timeout. */
  keepAliveDisabled: boolean;
  /** A NOP is sent every this many ms, whatever other traffic there is. */
  keepAliveIntervalMs: number;
  /** The session closes when a whole tick of this many ms passes without a frame from the peer. */
  keepAliveTimeoutMs: number;
  /** Largest PSH payload we send (1…65535). */
  maxFrameSize: number;
  /** Session receive bucket in bytes: input stops being read while this much is buffered unread. */
  maxReceiveBuffer: number;
  /** Per-stream receive window we advertise in UPD (version 2). */
  maxStreamBuffer: number;
}

/** Snowflake client 2.3/2.5.1 (`newSession`): v2, NOP every 10 s, idle close after 10 min, 1 MiB streams. */
export const SNOWFLAKE_SMUX_CLIENT: Readonly<SmuxConfig> = Object.freeze({
  version: 2,
  keepAliveDisabled: false,
  keepAliveIntervalMs: 10_000, // smux default
  keepAliveTimeoutMs: 10 * 60_000, // Snowflake client
  maxFrameSize: 32768, // smux default
  maxReceiveBuffer: 4 * 1024 * 1024, // smux default
  maxStreamBuffer: 1024 * 1024, // Snowflake's StreamSize
});

/** Snowflake server 2.5.1 (`acceptStreams`): as the client but idle close after 4 min. */
export const SNOWFLAKE_SMUX_SERVER: Readonly<SmuxConfig> = Object.freeze({
  ...SNOWFLAKE_SMUX_CLIENT,
  keepAliveTimeoutMs: 4 * 60_000, // Snowflake server 2.5.1 (2.3 used 10 min)
});

/** Throws SmuxError("invalid-config") where Go's `VerifyConfig` would fail. */
export function verifySmuxConfig(config: SmuxConfig): void {
  const fail = (why: string) => {
    throw new SmuxError("invalid-config", `invalid config: ${why}`);
  };
  if (config.version !== 1 && config.version !== 2) fail(`version must be 1 or 2, got ${config.version}`);
  if (!config.keepAliveDisabled) {
    if (!(config.keepAliveIntervalMs > 0)) fail("keepAliveIntervalMs must be positive");
    if (!(config.keepAliveTimeoutMs >= config.keepAliveIntervalMs)) {
      fail("keepAliveTimeoutMs must be at least keepAliveIntervalMs");
    }
  }
  if (!Number.isInteger(config.maxFrameSize) || config.maxFrameSize < 1 || config.maxFrameSize > 65535) {
    fail(`maxFrameSize must be 1…65535, got ${config.maxFrameSize}`);
  }
  if (
    !Number.isInteger(config.maxReceiveBuffer) || config.maxReceiveBuffer <= 0 ||
    config.maxReceiveBuffer > 0x7fffffff
  ) {
    fail("maxReceiveBuffer must be a positive integer below 2^31 (Go keeps the bucket in an int32)");
  }
  if (
    !Number.isInteger(config.maxStreamBuffer) || config.maxStreamBuffer <= 0 ||
    config.maxStreamBuffer > config.maxReceiveBuffer || config.maxStreamBuffer > 0x7fffffff
  ) {
    fail("maxStreamBuffer must be positive, at most maxReceiveBuffer and at most 2^31-1");
  }
}
