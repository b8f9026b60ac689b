/**
 * Two sans-I/O layers stacked in one process (smux over a KCP session) need no
 * promise between them: the lower layer's adapter can drive the upper machine
 * itself, in its own loop, with one clock read per wake-up and one timer for
 * the earliest `pollTimeout()` of both (STYLE.md, "Layers are sans-I/O state
 * machines"). A {@link ByteConn} that can do so is a {@link MachineHost}; the
 * upper adapter (SmuxSession) hands it its machine instead of reading and
 * writing the conn.
 */

import type { ByteConn } from "./byte_conn.ts";

/** A byte-stream layer's machine as the layer below drives it (SmuxMachine is one). */
export interface UpperMachine {
  /** Whether it takes input now; false: back-pressure (the bytes wait below, and the peer is slowed). */
  wantsInput(): boolean;
  /** Bytes from below, in order, any split. */
  handleInput(bytes: Uint8Array): void;
  /** The layer below ended (`error` undefined) or failed. */
  handleInputEnd(error?: unknown): void;
  /** The next bytes for below (taken whole), or null. */
  pollTransmit(): Uint8Array | null;
  handleTimeout(now: number): void;
  /** When {@link handleTimeout} is due; Infinity: never. */
  pollTimeout(): number;
}

/** The upper adapter's handle on the loop that drives its machine. */
export interface MachineLink {
  /** Runs the loop now; call after any call into the machine from outside the loop (a stream read or write). */
  service(): void;
}

/** A ByteConn whose adapter can drive the machine of the layer above (see the module doc). */
export interface MachineHost {
  /**
   * From now on, drives `machine` over this conn, whose read and write are then
   * not for use: input and output move in the conn's own loop, the machine's
   * deadline joins the conn's one timer, and `serviced` runs at the end of each
   * pass of the loop (to drain the machine's events). Once per conn.
   */
  drive(machine: UpperMachine, serviced: () => void): MachineLink;
}

/** Whether `conn` can drive the layer above itself. */
export function isMachineHost(conn: ByteConn): conn is ByteConn & MachineHost {
  return typeof (conn as Partial<MachineHost>).drive === "function";
}
