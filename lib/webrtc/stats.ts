/**
 * Counters of the native shim, for leak tests and diagnostics: live handles
 * (open peer connections and their data channels) and Go goroutines.
 */

import { Native } from "./native.ts";

/** What the shim holds now; see {@link nativeStats}. */
export interface NativeStats {
  /** Peer connections and data channels the shim still holds. 0 when everything is closed. */
  handles: number;
  /** Goroutines in the shim's Go runtime (pion runs several per connection). */
  goroutines: number;
}

/** Counts of the native shim now (loads it if not loaded): for leak checks and diagnostics. */
export function nativeStats(): NativeStats {
  const { symbols } = Native.get();
  return { handles: symbols.swrtc_handle_count(), goroutines: symbols.swrtc_goroutine_count() };
}
