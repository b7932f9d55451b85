// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertArrayIncludes`.
import { assertArrayIncludes, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertArrayIncludes() finds primitives (NaN too) and deeply equal objects", () => {
  assertArrayIncludes([1, NaN, 3], [NaN, 3]);
  assertArrayIncludes([{ a: 1 }, { b: [2] }], [{ b: [2] }]);
  assertArrayIncludes(new Uint8Array([1, 2, 3]), new Uint8Array([3]));
  assertArrayIncludes(["a", "b"], []);
});

Deno.test("assertArrayIncludes() lists what is missing", () => {
  assertThrows(
    () => assertArrayIncludes([1, 2], [2, 3]),
    AssertionError,
    'Expected actual: "[\n  1,\n  2,\n]" to include: "[\n  2,\n  3,\n]".\nmissing: [\n  3,\n]',
  );
  assertThrows(
    () => assertArrayIncludes([{ a: 1 }], [{ a: 2 }], "ctx"),
    AssertionError,
    ": ctx\nmissing:",
  );
});
