// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertStrictEquals`.
import { AssertionError } from "./assertion_error.ts";
import { diffMessage, format, suffix } from "./_internal.ts";

/**
 * Make an assertion that `actual` and `expected` are strictly equal, using
 * {@linkcode Object.is} for equality comparison. If not, then throw.
 *
 * @example Usage
 * ```ts ignore
 * import { assertStrictEquals } from "@std/assert";
 *
 * const a = {};
 * assertStrictEquals(a, a); // Doesn't throw
 * assertStrictEquals({}, {}); // Throws
 * ```
 *
 * @typeParam T The type of the expected value.
 * @param actual The actual value to compare.
 * @param expected The expected value to compare.
 * @param msg The optional message to display if the assertion fails.
 */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (Object.is(actual, expected)) return;
  const actualString = format(actual);
  if (actualString === format(expected)) {
    const indented = actualString.split("\n").map((line) => `    ${line}`).join("\n");
    throw new AssertionError(
      `Values have the same structure but are not reference-equal${suffix(msg)}\n\n${indented}\n`,
    );
  }
  throw new AssertionError(
    `Values are not strictly equal${suffix(msg)}\n${diffMessage(actual, expected)}`,
  );
}
