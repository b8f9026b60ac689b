/** The error-message lint rule (scripts/lint/error_message.ts): casts and copies of errorMessage() are reported. */

import assert from "node:assert/strict";
import plugin from "../../scripts/lint/plugin.ts";

function lint(source: string, file = "lib/proxy/proxy.ts"): string[] {
  return Deno.lint.runPlugin(plugin, file, source).filter((d) => d.id === "snowflake/error-message").map((
    d,
  ) => d.message);
}

Deno.test("error-message lint: a cast to an Error type and a copy of the helper are reported", () => {
  assert.deepEqual(lint("try {} catch (e) { console.log((e as Error).message); }"), [
    "(… as Error).message casts a caught value",
  ]);
  assert.deepEqual(lint("try {} catch (e) { throw new Error((e as MessageError).message); }"), [
    "(… as MessageError).message casts a caught value",
  ]);
  assert.deepEqual(lint("const why = (e: unknown) => e instanceof Error ? e.message : String(e);"), [
    "a copy of errorMessage()",
  ]);
});

Deno.test("error-message lint: the helper itself, other casts and other uses of .message pass", () => {
  const clean = [
    'import { errorMessage } from "../util/errors.ts"; try {} catch (e) { console.log(errorMessage(e)); }',
    "const n = (x as number) + 1;",
    "const m = (x as { message: string }).message;",
    "if (e instanceof Error) console.log(e.message);",
    "const s = e instanceof Error ? e.stack : String(e);",
  ];
  for (const source of clean) assert.deepEqual(lint(source), [], source);
  assert.deepEqual(
    lint("const f = (e: unknown) => e instanceof Error ? e.message : String(e);", "lib/util/errors.ts"),
    [],
  );
});
