// SPDX-License-Identifier: GPL-2.0-only
// Spec for the assertion functions: each passes on a holding check and throws
// AssertionError with the documented message otherwise. The failure side is
// checked by hand (try/catch) so these tests do not depend on assertThrows.

import {
  assert,
  assertArrayIncludes,
  assertEquals,
  assertExists,
  assertFalse,
  assertGreater,
  assertGreaterOrEqual,
  assertInstanceOf,
  AssertionError,
  assertIsError,
  assertLess,
  assertLessOrEqual,
  assertMatch,
  assertNotEquals,
  assertObjectMatch,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
  fail,
  unreachable,
} from "./mod.ts";

/** Runs `fn`, requires an AssertionError, returns its message. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof AssertionError)) throw new Error(`wrong error type: ${e}`);
    return e.message;
  }
  throw new Error("the assertion did not fail");
}

async function failureAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof AssertionError)) throw new Error(`wrong error type: ${e}`);
    return e.message;
  }
  throw new Error("the assertion did not fail");
}

function same(got: string, want: string): void {
  if (got !== want) throw new Error(`message mismatch\n got: ${got}\nwant: ${want}`);
}

Deno.test("AssertionError: is an Error named AssertionError that keeps a cause", () => {
  const cause = new Error("root");
  const e = new AssertionError("m", { cause });
  same(e.name, "AssertionError");
  same(e.message, "m");
  if (!(e instanceof Error) || e.cause !== cause) throw new Error("bad AssertionError");
});

Deno.test("assert / assertFalse: truthiness, message used verbatim", () => {
  assert(1);
  assert("x");
  assertFalse(0);
  assertFalse("");
  assertFalse(null);
  same(failure(() => assert(0)), "");
  same(failure(() => assert(false, "must hold")), "must hold");
  same(failure(() => assertFalse({}, "must not hold")), "must not hold");
});

Deno.test("assertEquals: first line names the failure, then a diff", () => {
  assertEquals({ a: [1, 2] }, { a: [1, 2] });
  const m = failure(() => assertEquals({ a: 1, b: 2 }, { a: 1, b: 3 }));
  same(m.split("\n")[0]!, "Values are not equal.");
  if (!m.includes("-   b: 2,") || !m.includes("+   b: 3,")) throw new Error(m);
  same(failure(() => assertEquals(1, 2, "ids")).split("\n")[0]!, "Values are not equal: ids");
});

Deno.test("assertEquals: strings are diffed on their lines", () => {
  const m = failure(() => assertEquals("one\ntwo\nthree", "one\n2\nthree"));
  if (!m.includes("  - two\n  + 2") || !m.includes("    one")) throw new Error(m);
});

Deno.test("assertNotEquals: message shows both values", () => {
  assertNotEquals({ a: 1 }, { a: 2 });
  same(
    failure(() => assertNotEquals([1], [1])),
    "Expected actual: [\n  1,\n] not to be: [\n  1,\n].",
  );
  same(failure(() => assertNotEquals("a", "a", "why")), 'Expected actual: "a" not to be: "a": why');
});

Deno.test("assertStrictEquals: Object.is, with a hint for look-alikes", () => {
  const o = { x: 1 };
  assertStrictEquals(o, o);
  assertStrictEquals(NaN, NaN);
  failure(() => assertStrictEquals(0, -0));
  const m = failure(() => assertStrictEquals({ x: 1 }, { x: 1 }));
  same(m.split("\n")[0]!, "Values have the same structure but are not reference-equal.");
  const n = failure(() => assertStrictEquals(1, 2, "n"));
  same(n.split("\n")[0]!, "Values are not strictly equal: n");
});

Deno.test("assertExists: rejects only null and undefined", () => {
  assertExists(0);
  assertExists("");
  assertExists(false);
  same(failure(() => assertExists(null)), 'Expected actual: "null" to not be null or undefined.');
  same(
    failure(() => assertExists(undefined, "cfg")),
    'Expected actual: "undefined" to not be null or undefined: cfg',
  );
});

Deno.test("assertInstanceOf: names what it got", () => {
  class A {}
  class B {}
  assertInstanceOf(new A(), A);
  same(
    failure(() => assertInstanceOf(new B(), A)),
    'Expected object to be an instance of "A" but was "B".',
  );
  same(
    failure(() => assertInstanceOf(3, A)),
    'Expected object to be an instance of "A" but was "number".',
  );
  same(
    failure(() => assertInstanceOf(null, A)),
    'Expected object to be an instance of "A" but was "null".',
  );
  same(
    failure(() => assertInstanceOf(A, A, "m")),
    'Expected object to be an instance of "A" but was not an instanced object: m',
  );
  // Same class name from another definition: no "but was" clause.
  const OtherA = class A {};
  same(
    failure(() => assertInstanceOf(new OtherA(), A)),
    'Expected object to be an instance of "A".',
  );
});

Deno.test("assertIsError: class, then message substring or pattern", () => {
  assertIsError(new RangeError("out of range: 9"), RangeError, "range: 9");
  assertIsError(new RangeError("out of range: 9"), Error, /range: \d/);
  assertIsError(new Error("\x1b[31mred\x1b[0m text"), Error, "red text");
  same(failure(() => assertIsError("str")), 'Expected "error" to be an Error object.');
  same(
    failure(() => assertIsError(new TypeError("t"), RangeError)),
    'Expected error to be instance of "RangeError", but was "TypeError".',
  );
  same(
    failure(() => assertIsError(new Error("abc"), Error, "xyz", "n")),
    'Expected error message to include "xyz", but got "abc": n',
  );
  same(
    failure(() => assertIsError(new Error("abc"), Error, /x.z/)),
    'Expected error message to include /x.z/, but got "abc".',
  );
});

Deno.test("assertThrows: returns what was thrown", () => {
  const thrown = assertThrows(() => {
    throw 42;
  });
  assertStrictEquals(thrown, 42);
  const e = assertThrows(() => JSON.parse("{"), SyntaxError);
  assert(e instanceof SyntaxError);
  const abstractBase = assertThrows(() => {
    throw new Deno.errors.NotFound("gone");
  }, Deno.errors.NotFound);
  assert(abstractBase instanceof Deno.errors.NotFound);
});

Deno.test("assertThrows: failures", () => {
  same(failure(() => assertThrows(() => {})), "Expected function to throw.");
  same(failure(() => assertThrows(() => {}, "note")), "Expected function to throw: note");
  same(
    failure(() => assertThrows(() => {}, Error, "x", "note")),
    "Expected function to throw: note",
  );
  same(
    failure(() =>
      assertThrows(() => {
        throw "s";
      }, Error)
    ),
    "A non-Error object was thrown.",
  );
  same(
    failure(() =>
      assertThrows(
        () => {
          throw new TypeError("bad");
        },
        TypeError,
        "good",
      )
    ),
    'Expected error message to include "good", but got "bad".',
  );
});

Deno.test("assertRejects: promise must reject; synchronous throws fail", async () => {
  const r = await assertRejects(() => Promise.reject("no"));
  assertStrictEquals(r, "no");
  const e = await assertRejects(() => Promise.reject(new RangeError("r")), RangeError, "r");
  assert(e instanceof RangeError);
  same(
    await failureAsync(() => assertRejects(() => Promise.resolve(1))),
    "Expected function to reject.",
  );
  same(
    await failureAsync(() =>
      assertRejects(() => {
        throw new Error("sync");
      })
    ),
    "Function throws when expected to reject.",
  );
  same(
    await failureAsync(() => assertRejects(() => 1 as unknown as Promise<number>, "m")),
    "Function throws when expected to reject: m",
  );
  same(
    await failureAsync(() => assertRejects(() => Promise.reject(3), Error)),
    "A non-Error object was rejected.",
  );
  const thenable: PromiseLike<never> = {
    then: (_ok, bad) => Promise.resolve(bad?.(new Error("t"))) as never,
  };
  await assertRejects(() => thenable, Error, "t");
});

Deno.test("assertMatch / assertStringIncludes", () => {
  assertMatch("abc123", /\d+$/);
  same(failure(() => assertMatch("abc", /\d/)), 'Expected actual: "abc" to match: "/\\d/".');
  assertStringIncludes("hello world", "o w");
  same(
    failure(() => assertStringIncludes("hello", "z", "m")),
    'Expected actual: "hello" to contain: "z": m',
  );
});

Deno.test("assertArrayIncludes: structural membership, lists what is missing", () => {
  assertArrayIncludes([1, { a: 2 }, [3]], [[3], { a: 2 }]);
  assertArrayIncludes(new Uint8Array([1, 2, 3]), new Uint8Array([3]));
  assertArrayIncludes("abc" as unknown as ArrayLike<string> & object, ["b"]);
  const m = failure(() => assertArrayIncludes([1, 2], [2, 3, 4]));
  if (!m.startsWith('Expected actual: "') || !m.endsWith("missing: [\n  3,\n  4,\n]")) {
    throw new Error(m);
  }
});

Deno.test("assertObjectMatch: subset of keys, recursively", () => {
  const sym = Symbol("s");
  const actual = {
    id: 1,
    name: "n",
    nested: { keep: true, extra: 2 },
    list: [{ x: 1, y: 2 }, { x: 3, y: 4 }],
    map: new Map([["k", { a: 1, b: 2 }]]),
    [sym]: "sv",
  };
  assertObjectMatch(actual, { name: "n" });
  assertObjectMatch(actual, { nested: { keep: true } });
  assertObjectMatch(actual, { list: [{ x: 1 }, { y: 4 }] });
  assertObjectMatch(actual, { map: new Map([["k", { b: 2 }]]) });
  assertObjectMatch(actual, { [sym]: "sv" });
  same(
    failure(() => assertObjectMatch(actual, { name: "m" })).split("\n")[0]!,
    "Values are not equal.",
  );
  failure(() => assertObjectMatch(actual, { missing: 1 }));
  failure(() => assertObjectMatch(actual, { list: [{ x: 1 }] }));
  failure(() => assertObjectMatch(actual, { nested: { keep: false } }));
});

Deno.test("assertObjectMatch: cyclic actual values terminate", () => {
  type Loop = { self?: Loop; v: number };
  const a: Loop = { v: 1 };
  a.self = a;
  const e: Loop = { v: 1 };
  e.self = e;
  assertObjectMatch(a, e);
});

Deno.test("ordering assertions", () => {
  assertGreater(2, 1);
  assertGreaterOrEqual(2, 2);
  assertLess("a", "b");
  assertLessOrEqual(1n, 1n);
  same(failure(() => assertGreater(1, 2)), "Expect 1 > 2");
  same(failure(() => assertGreaterOrEqual(1, 2)), "Expect 1 >= 2");
  same(failure(() => assertLess(2, 1)), "Expect 2 < 1");
  same(failure(() => assertLessOrEqual("b", "a")), 'Expect "b" <= "a"');
  same(failure(() => assertLess(2, 1, "custom")), "custom");
  failure(() => assertGreater(NaN, 0));
});

Deno.test("fail / unreachable", () => {
  same(failure(() => fail()), "Failed assertion.");
  same(failure(() => fail("why")), "Failed assertion: why");
  same(failure(() => unreachable()), "Unreachable.");
  same(failure(() => unreachable("x")), "Unreachable: x");
});
