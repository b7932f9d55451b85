// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertLess`.
import { assertEquals, AssertionError, assertLess, assertThrows } from "./mod.ts";

Deno.test("assertLess() passes when the comparison holds", () => {
  assertLess(1, 2);
  assertLess("a", "b");
});

Deno.test("assertLess() throws 'Expect 2 < 2' or exactly the custom message", () => {
  assertThrows(() => assertLess(2, 2), AssertionError, "Expect 2 < 2");
  assertEquals(assertThrows(() => assertLess(2, 2, "custom"), AssertionError).message, "custom");
});
