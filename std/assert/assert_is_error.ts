// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertIsError`.
import { AssertionError } from "./assertion_error.ts";
import { stripAnsi, suffix } from "./_internal.ts";

/**
 * Make an assertion that `error` is an `Error`.
 * If not then an error will be thrown.
 * An error class and a string that should be included in the
 * error message (or a RegExp it should match) can also be asserted.
 *
 * @example Usage
 * ```ts ignore
 * import { assertIsError } from "@std/assert";
 *
 * assertIsError(null); // Throws
 * assertIsError(new RangeError("Out of range")); // Doesn't throw
 * assertIsError(new RangeError("Out of range"), SyntaxError); // Throws
 * assertIsError(new RangeError("Out of range"), RangeError, "Out of"); // Doesn't throw
 * ```
 *
 * @typeParam E The type of the error to assert.
 * @param error The error to assert.
 * @param ErrorClass The optional error class to assert.
 * @param msgMatches The optional string or RegExp to assert in the error message.
 * @param msg The optional message to display if the assertion fails.
 */
export function assertIsError<E extends Error = Error>(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => E,
  msgMatches?: string | RegExp,
  msg?: string,
): asserts error is E {
  if (!(error instanceof Error)) {
    throw new AssertionError(`Expected "error" to be an Error object${suffix(msg)}`);
  }
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${error?.constructor?.name}"${
        suffix(msg)
      }`,
    );
  }
  if (!msgMatches) return;
  const message = stripAnsi(error.message);
  const ok = typeof msgMatches === "string"
    ? message.includes(stripAnsi(msgMatches))
    : msgMatches.test(message);
  if (!ok) {
    const wanted = msgMatches instanceof RegExp
      ? msgMatches.toString()
      : JSON.stringify(msgMatches);
    throw new AssertionError(
      `Expected error message to include ${wanted}, but got ${JSON.stringify(error.message)}${
        suffix(msg)
      }`,
    );
  }
}
