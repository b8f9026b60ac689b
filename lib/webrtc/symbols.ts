/**
 * The C ABI of the native shim (lib/webrtc/native/abi.go), as a Deno.dlopen
 * symbol table. Handles are positive int32s; calls that can fail return -n and
 * leave an n-byte error message in their `out` buffer (see abi.go).
 */

/** Must equal `abiVersion` in native/abi.go; a stale build/ffi library fails to load with a clear error. */
export const ABI_VERSION = 3;

/** File name of the shim in build/ffi/, beside the executable, and in `deno compile --include`. */
export const LIBRARY_FILE = "libsnowflake_webrtc.so";

export const SYMBOLS = {
  swrtc_abi_version: { parameters: [], result: "i32" },
  swrtc_context_new: { parameters: ["buffer", "i32"], result: "i32" },
  swrtc_context_fd: { parameters: ["i32"], result: "i32" },
  // Copies every ready event into the buffer, first waiting (up to the
  // timeout) for one: runs on a worker thread so that the event loop stays free.
  swrtc_wait_poll: { parameters: ["i32", "i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  swrtc_handle_count: { parameters: [], result: "i32" },
  swrtc_goroutine_count: { parameters: [], result: "i32" },
  swrtc_close_all: { parameters: ["i32"], result: "void" },
  swrtc_pc_new: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_create_offer: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_create_answer: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_set_description: { parameters: ["i32", "i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_get_description: { parameters: ["i32", "i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_signaling_state: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_create_data_channel: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  swrtc_pc_close: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  swrtc_dc_send: { parameters: ["i32", "buffer", "i32", "i32", "buffer", "i32"], result: "i32" },
  swrtc_dc_buffered_amount: { parameters: ["i32"], result: "i32" },
  swrtc_dc_set_buffered_amount_low_threshold: { parameters: ["i32", "u32"], result: "void" },
  swrtc_dc_close: { parameters: ["i32", "buffer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

export type NativeLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;
