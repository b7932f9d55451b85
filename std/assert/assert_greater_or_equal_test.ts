// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertGreaterOrEqual`.
import { assertEquals, assertGreaterOrEqual, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertGreaterOrEqual() passes when the comparison holds", () => {
  assertGreaterOrEqual(1n, 1n);
  assertGreaterOrEqual("b", "a");
});

Deno.test("assertGreaterOrEqual() throws 'Expect 0 >= 1' or exactly the custom message", () => {
  assertThrows(() => assertGreaterOrEqual(0, 1), AssertionError, "Expect 0 >= 1");
  assertEquals(
    assertThrows(() => assertGreaterOrEqual(0, 1, "custom"), AssertionError).message,
    "custom",
  );
});
