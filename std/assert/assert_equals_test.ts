// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertEquals`.
import { assertEquals, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertEquals() passes for deeply equal values", () => {
  assertEquals({ a: [1, { b: new Set([1]) }] }, { a: [1, { b: new Set([1]) }] });
  assertEquals(new Map([[1, "x"]]), new Map([[1, "x"]]));
});

Deno.test("assertEquals() treats NaN as equal to NaN", () => {
  assertEquals(NaN, NaN);
  assertEquals([NaN], [NaN]);
});

Deno.test("assertEquals() throws with a line diff of actual against expected", () => {
  const error = assertThrows(() => assertEquals({ a: 1, b: 2 }, { a: 1, b: 3 }), AssertionError);
  assertEquals(
    error.message,
    [
      "Values are not equal.",
      "",
      "",
      "    [Diff] Actual / Expected",
      "",
      "",
      "    {",
      "      a: 1,",
      "-     b: 2,",
      "+     b: 3,",
      "    }",
      "",
    ].join("\n"),
  );
});

Deno.test("assertEquals() diffs strings on their raw lines", () => {
  const error = assertThrows(() => assertEquals("one\ntwo", "one\nthree"), AssertionError);
  assertEquals(
    error.message.split("\n").slice(5),
    ["", "    one", "-   two", "+   three", ""],
  );
});

Deno.test("assertEquals() puts the custom message after 'Values are not equal: '", () => {
  assertThrows(
    () => assertEquals(1, 2, "custom"),
    AssertionError,
    "Values are not equal: custom\n",
  );
});
