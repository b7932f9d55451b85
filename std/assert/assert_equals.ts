// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertEquals`.
import { AssertionError } from "./assertion_error.ts";
import { equal } from "./equal.ts";
import { diffMessage, suffix } from "./_internal.ts";

/**
 * Make an assertion that `actual` and `expected` are equal, deeply (see
 * {@linkcode equal}). If not deeply equal, then throw an `AssertionError`
 * whose message is `Values are not equal` followed by a line diff of the two
 * values.
 *
 * Type parameter can be specified to ensure values under comparison have the
 * same type.
 *
 * @example Usage
 * ```ts ignore
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals("world", "world"); // Doesn't throw
 * assertEquals("hello", "world"); // Throws
 * ```
 *
 * @typeParam T The type of the values to compare. This is usually inferred.
 * @param actual The actual value to compare.
 * @param expected The expected value to compare.
 * @param msg The optional message to display if the assertion fails.
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) return;
  throw new AssertionError(`Values are not equal${suffix(msg)}\n${diffMessage(actual, expected)}`);
}
