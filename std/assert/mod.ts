// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as its `mod.ts` for the re-exported names.

/**
 * A library of assertion functions (in-repo compatibility subset of
 * `jsr:@std/assert@1`). If the assertion is false an `AssertionError` will
 * be thrown which will result in a readable diff of the failing assertion.
 *
 * ```ts ignore
 * import { assert } from "@std/assert";
 *
 * assert("I am truthy"); // Doesn't throw
 * assert(false); // Throws `AssertionError`
 * ```
 *
 * @module
 */

export * from "./assert.ts";
export * from "./assert_array_includes.ts";
export * from "./assert_equals.ts";
export * from "./assert_exists.ts";
export * from "./assert_false.ts";
export * from "./assert_greater.ts";
export * from "./assert_greater_or_equal.ts";
export * from "./assert_instance_of.ts";
export * from "./assert_is_error.ts";
export * from "./assert_less.ts";
export * from "./assert_less_or_equal.ts";
export * from "./assert_match.ts";
export * from "./assert_not_equals.ts";
export * from "./assert_object_match.ts";
export * from "./assert_rejects.ts";
export * from "./assert_strict_equals.ts";
export * from "./assert_string_includes.ts";
export * from "./assert_throws.ts";
export * from "./assertion_error.ts";
export * from "./equal.ts";
export * from "./fail.ts";
export * from "./unreachable.ts";
