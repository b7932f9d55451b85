// SPDX-License-Identifier: GPL-2.0-only
// Spec for the message helpers: value printing, the line diff, its rendering.

import { assertEquals } from "./mod.ts";
import { format, lineDiff, renderDiff } from "./format.ts";

Deno.test("format: strings are quoted literals, objects sorted one key per line", () => {
  assertEquals(format('a"b\n'), '"a\\"b\\n"');
  assertEquals(format({ b: 1, a: 2 }), "{\n  a: 2,\n  b: 1,\n}");
  assertEquals(format(3n), "3n");
  assertEquals(format(undefined), "undefined");
});

Deno.test("lineDiff: keeps common lines and orders removals before additions", () => {
  assertEquals(lineDiff(["a", "b", "c"], ["a", "x", "c"]), [
    { kind: "same", text: "a" },
    { kind: "actual", text: "b" },
    { kind: "expected", text: "x" },
    { kind: "same", text: "c" },
  ]);
  assertEquals(lineDiff([], ["n"]), [{ kind: "expected", text: "n" }]);
  assertEquals(lineDiff(["o"], []), [{ kind: "actual", text: "o" }]);
  assertEquals(lineDiff(["s"], ["s"]), [{ kind: "same", text: "s" }]);
});

Deno.test("lineDiff: finds a longest common subsequence", () => {
  const a = ["1", "2", "3", "4", "5"];
  const e = ["0", "2", "4", "5", "6"];
  const d = lineDiff(a, e);
  assertEquals(d.filter((l) => l.kind === "same").map((l) => l.text), ["2", "4", "5"]);
  // Replaying the diff rebuilds both sides.
  assertEquals(d.filter((l) => l.kind !== "expected").map((l) => l.text), a);
  assertEquals(d.filter((l) => l.kind !== "actual").map((l) => l.text), e);
});

Deno.test("lineDiff: huge inputs degrade to a replacement, not a quadratic table", () => {
  const a = Array.from({ length: 5000 }, (_, i) => `a${i}`);
  const e = Array.from({ length: 5000 }, (_, i) => `e${i}`);
  const d = lineDiff(["head", ...a, "tail"], ["head", ...e, "tail"]);
  assertEquals(d.length, 10002);
  assertEquals(d[0], { kind: "same", text: "head" });
  assertEquals(d[1], { kind: "actual", text: "a0" });
  assertEquals(d[5001], { kind: "expected", text: "e0" });
  assertEquals(d[10001], { kind: "same", text: "tail" });
});

Deno.test("renderDiff: marks lines and folds long unchanged runs", () => {
  const a = Array.from({ length: 20 }, (_, i) => `line ${i}`);
  const e = [...a];
  e[10] = "changed";
  const text = renderDiff(a.join("\n"), e.join("\n"));
  const lines = text.split("\n");
  assertEquals(lines[0], "    (- actual, + expected)");
  assertEquals(lines.includes("  - line 10"), true);
  assertEquals(lines.includes("  + changed"), true);
  assertEquals(lines.includes("    ... 7 unchanged lines"), true);
  assertEquals(lines.includes("    line 7"), true);
  assertEquals(lines.includes("    line 6"), false);
});

Deno.test("renderDiff: invisible differences are made visible", () => {
  const ws = renderDiff("x ", "x");
  assertEquals(ws.includes("  - x·"), true);
  const cr = renderDiff("x\r", "x");
  assertEquals(cr.includes("  - x\\r"), true);
  class P {
    v = 1;
  }
  const proto = renderDiff(new P(), Object.assign(Object.create(P.prototype), { v: 1 }));
  assertEquals(proto.includes("both print the same"), true);
});
