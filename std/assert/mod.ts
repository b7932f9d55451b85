// SPDX-License-Identifier: GPL-2.0-only

/**
 * Assertions for tests, API-compatible with `jsr:@std/assert@^1` for the names
 * listed below (see `std/README.md` for what is left out and the known
 * differences). Every failed check throws {@linkcode AssertionError}.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * assertEquals(new Map([["k", [1, 2]]]), new Map([["k", [1, 2]]]));
 * assertThrows(() => BigInt("1.5"), SyntaxError);
 * ```
 *
 * @module
 */

export { AssertionError } from "./assertion_error.ts";
export { equal } from "./equal.ts";
export {
  type AnyConstructor,
  type ArrayLikeArg,
  assert,
  assertArrayIncludes,
  assertEquals,
  assertExists,
  assertFalse,
  assertGreater,
  assertGreaterOrEqual,
  assertInstanceOf,
  assertIsError,
  assertLess,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
  assertObjectMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  fail,
  type Falsy,
  type GetConstructorType,
  unreachable,
} from "./assertions.ts";
