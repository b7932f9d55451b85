// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertNotEquals`.
import { AssertionError, assertNotEquals, assertThrows } from "./mod.ts";

Deno.test("assertNotEquals() passes for values that are not deeply equal", () => {
  assertNotEquals({ a: 1 }, { a: 2 });
  assertNotEquals<unknown>(1, "1");
});

Deno.test("assertNotEquals() throws with both formatted values", () => {
  assertThrows(
    () => assertNotEquals({ a: 1 }, { a: 1 }),
    AssertionError,
    "Expected actual: {\n  a: 1,\n} not to be: {\n  a: 1,\n}.",
  );
  assertThrows(() => assertNotEquals(NaN, NaN, "nan"), AssertionError, "not to be: NaN: nan");
});
