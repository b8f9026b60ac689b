/**
 * The one way we turn a caught value into a log or error message: an Error's
 * message, anything else (a thrown string, a rejected number) as a string.
 */

/** The message of a caught value: `e.message` for an Error, else `String(e)`. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
