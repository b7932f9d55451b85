// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertObjectMatch`.
import { AssertionError, assertObjectMatch, assertThrows } from "./mod.ts";

Deno.test("assertObjectMatch() ignores properties that expected does not mention", () => {
  assertObjectMatch({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }, 5] }, {
    b: { c: 2 },
    e: [{ f: 1 }],
  });
  assertObjectMatch({ m: new Map([["k", { x: 1, y: 2 }], ["z", {}]]) }, {
    m: new Map([["k", { x: 1 }]]),
  });
  assertObjectMatch({ s: new Set([1, 2, 3]) }, { s: new Set([1, 2]) });
  assertObjectMatch({ r: /a/g }, { r: /a/g });
  class Point {
    constructor(public x: number, public y: number) {}
  }
  assertObjectMatch({ p: new Point(1, 2) }, { p: { x: 1 } });
});

Deno.test("assertObjectMatch() throws a diff when a mentioned property differs", () => {
  assertThrows(
    () => assertObjectMatch({ a: 1 }, { a: 2 }),
    AssertionError,
    "Values are not equal.",
  );
  assertThrows(() => assertObjectMatch({ a: 1 }, { a: 1, b: 2 }), AssertionError, "+     b: 2,");
  assertThrows(
    () => assertObjectMatch({ a: [1] }, { a: [1, 2] }),
    AssertionError,
    "Values are not equal",
  );
  assertThrows(
    () => assertObjectMatch({ a: { b: 1 } }, { a: { b: 2 } }, "ctx"),
    AssertionError,
    "equal: ctx",
  );
});

Deno.test("assertObjectMatch() terminates on circular references", () => {
  const actual: Record<string, unknown> = { name: "x" };
  actual.self = actual;
  const expected: Record<string, unknown> = { name: "x" };
  expected.self = expected;
  assertObjectMatch(actual, expected);
  const other: Record<string, unknown> = { name: "y" };
  other.self = other;
  assertThrows(() => assertObjectMatch(actual, other), AssertionError);
});
