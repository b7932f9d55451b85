// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertLessOrEqual`.
import { assertEquals, AssertionError, assertLessOrEqual, assertThrows } from "./mod.ts";

Deno.test("assertLessOrEqual() passes when the comparison holds", () => {
  assertLessOrEqual(2n, 2n);
  assertLessOrEqual("a", "b");
});

Deno.test('assertLessOrEqual() throws \'Expect "c" <= "b"\' or exactly the custom message', () => {
  assertThrows(() => assertLessOrEqual("c", "b"), AssertionError, 'Expect "c" <= "b"');
  assertEquals(
    assertThrows(() => assertLessOrEqual("c", "b", "custom"), AssertionError).message,
    "custom",
  );
});
