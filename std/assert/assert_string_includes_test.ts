// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertStringIncludes`.
import { AssertionError, assertStringIncludes, assertThrows } from "./mod.ts";

Deno.test("assertStringIncludes() passes for substrings and quotes both strings otherwise", () => {
  assertStringIncludes("Hello", "ell");
  assertThrows(
    () => assertStringIncludes("Hello", "world"),
    AssertionError,
    'Expected actual: "Hello" to contain: "world".',
  );
});
