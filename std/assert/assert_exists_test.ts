// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertExists`.
import { assertExists, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertExists() accepts everything but null and undefined", () => {
  for (const v of [0, "", false, NaN, {}]) assertExists(v);
  const maybe: string | null = "x" as string | null;
  assertExists(maybe);
  maybe.toUpperCase(); // narrowed to string
  assertThrows(
    () => assertExists(null),
    AssertionError,
    'Expected actual: "null" to not be null or undefined.',
  );
  assertThrows(
    () => assertExists(undefined, "ctx"),
    AssertionError,
    '"undefined" to not be null or undefined: ctx',
  );
});
