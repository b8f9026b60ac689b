/** Test helpers for the smux tests: a wire between two machines (and, re-exported, tests/support's PRNG and sha256). */

import type { SmuxEvent, SmuxMachine } from "../../lib/smux/machine.ts";
import { decodeFrame, encodedFrameLength, encodeFrame, type Frame, makeFrame } from "../../lib/smux/frame.ts";
import { toHex } from "../../lib/util/bytes.ts";

export { sha256Hex } from "../support/digest.ts";
export { prng, randomBytes } from "../support/random.ts";

/** Every frame `machine` wants to send, in order. */
export function drainTransmit(machine: SmuxMachine): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let frame = machine.pollTransmit(); frame !== null; frame = machine.pollTransmit()) frames.push(frame);
  return frames;
}

/** Every pending event of `machine`. */
export function drainEvents(machine: SmuxMachine): SmuxEvent[] {
  const events: SmuxEvent[] = [];
  for (let event = machine.pollEvent(); event !== null; event = machine.pollEvent()) events.push(event);
  return events;
}

/** Moves frames both ways between two machines until neither has anything to send; returns the frame count. */
export function pump(a: SmuxMachine, b: SmuxMachine): number {
  let moved = 0;
  for (;;) {
    const fromA = drainTransmit(a);
    const fromB = drainTransmit(b);
    if (fromA.length + fromB.length === 0) return moved;
    for (const frame of fromA) b.handleInput(frame);
    for (const frame of fromB) a.handleInput(frame);
    moved += fromA.length + fromB.length;
  }
}

/** One encoded frame (header length = payload length). */
export function frameBytes(
  cmd: number,
  sid: number,
  payload: Uint8Array = new Uint8Array(0),
  version = 2,
): Uint8Array {
  const frame = makeFrame(version, cmd, sid, payload);
  const out = new Uint8Array(encodedFrameLength(frame));
  encodeFrame(frame, out);
  return out;
}

/** Decodes frames sent by a machine (each pollTransmit result is exactly one frame). */
export function decodeAll(frames: Uint8Array[]): Frame[] {
  return frames.map((bytes) => {
    const decoded = decodeFrame(bytes);
    if (decoded === null || decoded[1] !== bytes.length) throw new Error(`not one frame: ${toHex(bytes)}`);
    return decoded[0];
  });
}
