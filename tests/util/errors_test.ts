import assert from "node:assert/strict";
import { errorMessage } from "../../lib/util/errors.ts";

Deno.test("errorMessage: an Error's message, anything else as a string", () => {
  assert.equal(errorMessage(new RangeError("out of range")), "out of range");
  assert.equal(errorMessage("a thrown string"), "a thrown string");
  assert.equal(errorMessage(42), "42");
  assert.equal(errorMessage(undefined), "undefined");
  assert.equal(errorMessage(new DOMException("aborted", "AbortError")), "aborted");
});
