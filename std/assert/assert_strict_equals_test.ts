// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertStrictEquals`.
import { assertEquals, AssertionError, assertStrictEquals, assertThrows } from "./mod.ts";

Deno.test("assertStrictEquals() passes for Object.is-identical values", () => {
  const obj = { a: 1 };
  assertStrictEquals(obj, obj);
  assertStrictEquals(NaN, NaN);
  assertThrows(() => assertStrictEquals(0, -0), AssertionError, "Values are not strictly equal.");
});

Deno.test("assertStrictEquals() explains equal-looking values that are other references", () => {
  const error = assertThrows(() => assertStrictEquals({ a: 1 }, { a: 1 }), AssertionError);
  assertEquals(
    error.message,
    "Values have the same structure but are not reference-equal.\n\n    {\n      a: 1,\n    }\n",
  );
});

Deno.test("assertStrictEquals() diffs values of different structure", () => {
  const error = assertThrows(() => assertStrictEquals<unknown>(1, "1", "msg"), AssertionError);
  assertEquals(error.message.split("\n").slice(0, 1), ["Values are not strictly equal: msg"]);
  assertEquals(error.message.split("\n").slice(6), ["-   1", '+   "1"', ""]);
});
