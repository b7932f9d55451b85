// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for the message helpers.
import { assertEquals } from "./mod.ts";
import { diffLines, format, isErrorClass, stripAnsi, suffix } from "./_internal.ts";

Deno.test("format() prints values like Deno.inspect with sorted keys and trailing commas", () => {
  assertEquals(format({ b: 1, a: 2 }), "{\n  a: 2,\n  b: 1,\n}");
  assertEquals(format(new Set([1])), "Set(1) {\n  1,\n}");
  assertEquals(format("x"), `"x"`);
});

Deno.test("diffLines() keeps the longest common subsequence and marks the rest", () => {
  assertEquals(diffLines(["a", "b", "c"], ["a", "x", "c"]), [
    ["common", "a"],
    ["removed", "b"],
    ["added", "x"],
    ["common", "c"],
  ]);
  assertEquals(diffLines(["a", "b"], ["b", "c"]), [
    ["removed", "a"],
    ["common", "b"],
    ["added", "c"],
  ]);
  assertEquals(diffLines([], ["z"]), [["added", "z"]]);
});

Deno.test("suffix(), stripAnsi() and isErrorClass() helpers", () => {
  assertEquals([suffix(undefined), suffix(""), suffix("m")], [".", ".", ": m"]);
  assertEquals(stripAnsi("\x1b[31mred\x1b[39m"), "red");
  assertEquals([
    isErrorClass(Error),
    isErrorClass(TypeError),
    isErrorClass(Date),
    isErrorClass("x"),
  ], [
    true,
    true,
    false,
    false,
  ]);
});
