// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertArrayIncludes`.
import { AssertionError } from "./assertion_error.ts";
import { equal } from "./equal.ts";
import { format, suffix } from "./_internal.ts";

/** An array-like object (`Array`, `Uint8Array`, `NodeList`, etc.) that is not a string */
export type ArrayLikeArg<T> = ArrayLike<T> & object;

/**
 * Make an assertion that `actual` includes the `expected` values. If not then
 * an error will be thrown. Primitives are looked up with SameValueZero,
 * objects with deep equality ({@linkcode equal}).
 *
 * Type parameter can be specified to ensure values under comparison have the
 * same type.
 *
 * @example Usage
 * ```ts ignore
 * import { assertArrayIncludes } from "@std/assert";
 *
 * assertArrayIncludes([1, 2], [2]); // Doesn't throw
 * assertArrayIncludes([1, 2], [3]); // Throws
 * ```
 *
 * @typeParam T The type of the elements in the array to compare.
 * @param actual The array-like object to check for.
 * @param expected The array-like object to check for.
 * @param msg The optional message to display if the assertion fails.
 */
export function assertArrayIncludes<T>(
  actual: ArrayLikeArg<T>,
  expected: ArrayLikeArg<T>,
  msg?: string,
): void {
  const missing: unknown[] = [];
  for (let i = 0; i < expected.length; i++) {
    const item = expected[i];
    const primitive = item === null || (typeof item !== "object" && typeof item !== "function");
    let found = false;
    if (primitive) {
      found = Array.prototype.includes.call(actual, item);
    } else {
      for (let j = 0; j < actual.length && !found; j++) found = equal(item, actual[j]);
    }
    if (!found) missing.push(item);
  }
  if (missing.length === 0) return;
  throw new AssertionError(
    `Expected actual: "${format(actual)}" to include: "${format(expected)}"${
      suffix(msg)
    }\nmissing: ${format(missing)}`,
  );
}
