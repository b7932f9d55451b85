// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertFalse`.
import { assertFalse, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertFalse() passes for falsy values and throws for truthy ones", () => {
  for (const v of [false, 0, 0n, "", null, undefined]) assertFalse(v);
  assertThrows(() => assertFalse(1, "one"), AssertionError, "one");
});
