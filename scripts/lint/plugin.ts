/**
 * Our `deno lint` plugin (deno.json "lint.plugins"): the codebase's rules
 * that a tool can hold. `snowflake/sans-io` (sans_io.ts): listed state
 * machines read no clock, set no timer, do no I/O. `snowflake/error-message`
 * (error_message.ts): caught values become messages through one helper.
 * Tests: tests/lint/.
 */

import { errorMessageRule } from "./error_message.ts";
import { sansIoRule } from "./sans_io.ts";

/** The plugin, as deno.json loads it. */
const plugin: Deno.lint.Plugin = {
  name: "snowflake",
  rules: { "sans-io": sansIoRule, "error-message": errorMessageRule },
};
export default plugin;
