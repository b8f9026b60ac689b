/**
 * Non-trickle signalling needs the local description after ICE gathering has
 * completed (Snowflake sends one offer and one answer with every candidate;
 * SNOWFLAKE-PROTOCOL.md §6.5 step 2, §7.5 step 3). This waits for that, on our
 * RTCPeerConnection or a browser's.
 */

/** The part of an RTCPeerConnection this needs. */
export interface GatheringPeer extends EventTarget {
  /** "complete" once gathering is done. */
  readonly iceGatheringState: string;
}

/**
 * Resolves once `pc.iceGatheringState` is "complete". Rejects with
 * `signal.reason` if `signal` aborts first (use it to bound the wait or to give
 * up when the connection is closed meanwhile, which fires no event).
 */
export function waitForIceGatheringComplete(pc: GatheringPeer, signal?: AbortSignal): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const finish = () => {
      pc.removeEventListener("icegatheringstatechange", onChange);
      signal?.removeEventListener("abort", onAbort);
    };
    const onChange = () => {
      if (pc.iceGatheringState !== "complete") return;
      finish();
      resolve();
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason);
    };
    pc.addEventListener("icegatheringstatechange", onChange);
    signal?.addEventListener("abort", onAbort);
  });
}
