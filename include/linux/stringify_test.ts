// SPDX-License-Identifier: GPL-2.0-only
/**
 * `callsite()` and `stringify_args()` give what C's `__FILE__`, `__LINE__` and
 * `#arg` give to a macro.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import {
  backtrace,
  callsite,
  source_file_name,
  split_call_args,
  stringify_args,
} from "./stringify.ts";

/** The line of this file where `text` first appears. */
function line_of(text: string): number {
  const src = Deno.readTextFileSync(new URL(import.meta.url));
  return src.slice(0, src.indexOf(text)).split("\n").length;
}

/** A macro-like function: returns what the C preprocessor would have given it. */
function MACRO(..._args: unknown[]): { file: string; line: number; args: string[] | undefined } {
  const site = callsite(1)!;
  return { file: site.file, line: site.line, args: stringify_args(site) };
}

Deno.test("callsite(1) in a macro-like function is the line of its caller, like __LINE__", () => {
  const answer = 41;
  const got = MACRO(42, answer);
  assertEquals(got, {
    file: "stringify_test.ts",
    line: line_of("MACRO(42, answer)"),
    args: ["42", "answer"],
  });
});

Deno.test("stringify_args() reads multi-line calls, normalising blanks and comments like #", () => {
  const self = { value: 9 };
  const got = MACRO(
    11, // the expected value
    self
      .value, /* seen */
  );
  assertEquals(got.args, ["11", "self .value"]);
});

Deno.test("stringify_args() keeps string and template literals as written", () => {
  const got = MACRO("a,  (b", `x${"y)"}  z`, "q\"'");
  assertEquals(got.args, ['"a,  (b"', '`x${"y)"}  z`', `"q\\"'"`]);
});

function cut(src: string, line = 1, column = 1): string[] | undefined {
  return split_call_args(src, line, column);
}

Deno.test("split_call_args() splits only at top-level commas", () => {
  assertEquals(cut("F(f(a, b), [c, d], { e: 1, g: 2 }, (h, i) => h + i)"), [
    "f(a, b)",
    "[c, d]",
    "{ e: 1, g: 2 }",
    "(h, i) => h + i",
  ]);
});

Deno.test("split_call_args() accepts the callee forms V8 reports a position for", () => {
  assertEquals(cut("o.F(1, 2)", 1, 3), ["1", "2"]);
  assertEquals(cut("(F)(1)"), ["1"]);
  assertEquals(cut("F?.(1)"), ["1"]);
  assertEquals(cut("F<Array<() => void>>(x as number)"), ["x as number"]);
  assertEquals(cut("F()"), []);
  assertEquals(cut("F(a, b,)"), ["a", "b"]);
});

Deno.test("split_call_args() tells regular expressions from divisions", () => {
  assertEquals(cut("F(/[,)]/.test(s), a / b, c)"), ["/[,)]/.test(s)", "a / b", "c"]);
});

Deno.test("split_call_args() finds the line and column in the text", () => {
  assertEquals(cut("x;\n  y(1);\n  F(2, 3);", 3, 3), ["2", "3"]);
  assertEquals(cut("F(1", 1, 1), undefined);
  assertEquals(cut("1 + 2", 1, 1), undefined);
  assertEquals(cut("F(1)", 9, 1), undefined);
});

Deno.test("source_file_name() is the bare file name, as __FILE__ of a program built in its directory", () => {
  assertEquals(source_file_name("file:///a/b/tdx_vm_test.ts"), "tdx_vm_test.ts");
  assertEquals(source_file_name("file:///a/my%20test.ts"), "my test.ts");
  assertEquals(source_file_name("ext:cli/40_test.js"), "40_test.js");
});

Deno.test("backtrace() starts at its caller", () => {
  const frames = backtrace(3);
  assertEquals(frames[0]!.file, "stringify_test.ts");
  assertEquals(frames[0]!.line, line_of("backtrace(3)"));
  assertEquals(frames.length <= 3, true);
});
