// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertGreater`.
import { assertEquals, assertGreater, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertGreater() passes when the comparison holds", () => {
  assertGreater(2, 1);
  assertGreater("b", "a");
});

Deno.test("assertGreater() throws 'Expect 1 > 1' or exactly the custom message", () => {
  assertThrows(() => assertGreater(1, 1), AssertionError, "Expect 1 > 1");
  assertEquals(assertThrows(() => assertGreater(1, 1, "custom"), AssertionError).message, "custom");
});
