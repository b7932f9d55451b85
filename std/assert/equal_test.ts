// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `equal`.
import { assert, assertFalse, assertThrows } from "./mod.ts";
import { equal } from "./equal.ts";

Deno.test("equal() compares primitives with SameValueZero", () => {
  assert(equal("a", "a"));
  assert(equal(NaN, NaN));
  assert(equal(0, -0));
  assert(equal(10n, 10n));
  assert(equal(null, null));
  assertFalse(equal(1, "1"));
  assertFalse(equal(null, undefined));
  assertFalse(equal(1n, 1));
  assertFalse(equal(Symbol("x"), Symbol("x")));
});

Deno.test("equal() compares plain objects and arrays deeply, ignoring key order", () => {
  assert(equal({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }));
  assertFalse(equal({ a: 1 }, { a: 1, b: 2 }));
  assertFalse(equal({ a: undefined }, { b: undefined }));
  assertFalse(equal([1, 2], [2, 1]));
  assertFalse(equal([1, 2], [1, 2, 3]));
  assert(equal(Object.create(null), {}));
  const sym = Symbol("k");
  assertFalse(equal({ [sym]: 1 }, { [sym]: 2 }));
  assertFalse(equal([1], { 0: 1, length: 1 }));
});

Deno.test("equal() compares dates by time, NaN dates equal", () => {
  assert(equal(new Date(2020, 1, 1), new Date(2020, 1, 1)));
  assertFalse(equal(new Date(2020, 1, 1), new Date(2020, 1, 2)));
  assert(equal(new Date("invalid"), new Date("invalid")));
});

Deno.test("equal() compares RegExp and URL by their string form", () => {
  assert(equal(/a/g, /a/g));
  assertFalse(equal(/a/g, /a/i));
  assert(equal(new URL("https://x.test/a"), new URL("https://x.test/a")));
  assertFalse(equal(new URL("https://x.test/a"), new URL("https://x.test/b")));
});

Deno.test("equal() compares typed arrays, ArrayBuffers and DataViews by content", () => {
  assert(equal(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assertFalse(equal(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assertFalse(equal(new Uint8Array([1]), new Int8Array([1])));
  assert(equal(new Float64Array([NaN, 0]), new Float64Array([NaN, -0])));
  assert(equal(new BigUint64Array([1n]), new BigUint64Array([1n])));
  assert(equal(new Uint8Array([5, 6]).buffer, new Uint8Array([5, 6]).buffer));
  assertFalse(equal(new Uint8Array([5, 6]).buffer, new Uint8Array([5, 7]).buffer));
  assert(
    equal(new DataView(new Uint8Array([1, 2]).buffer), new DataView(new Uint8Array([1, 2]).buffer)),
  );
  assertFalse(
    equal(new DataView(new Uint8Array([1, 2]).buffer), new DataView(new Uint8Array([1, 3]).buffer)),
  );
});

Deno.test("equal() compares Map and Set contents regardless of order", () => {
  assert(equal(new Set([1, 2, 3]), new Set([3, 2, 1])));
  assertFalse(equal(new Set([1, 2]), new Set([1, 3])));
  assert(
    equal(
      new Map<string, unknown>([["a", { x: 1 }], ["b", 2]]),
      new Map<string, unknown>([["b", 2], ["a", { x: 1 }]]),
    ),
  );
  assertFalse(equal(new Map([["a", 1]]), new Map([["a", 2]])));
  assert(equal(new Map([[{ k: 1 }, "v"]]), new Map([[{ k: 1 }, "v"]])));
  assert(equal(new Set([{ a: 1 }, { b: 2 }]), new Set([{ b: 2 }, { a: 1 }])));
  assertFalse(equal(new Set([{ a: 1 }]), new Set([{ a: 2 }])));
  assertFalse(equal(new Map(), new Set()));
});

Deno.test("equal() requires class instances to share a prototype and equal fields", () => {
  class Point {
    constructor(public x: number, public y: number) {}
  }
  class Other {
    constructor(public x: number, public y: number) {}
  }
  assert(equal(new Point(1, 2), new Point(1, 2)));
  assertFalse(equal(new Point(1, 2), new Point(1, 3)));
  assertFalse(equal(new Point(1, 2), new Other(1, 2)));
  assertFalse(equal(new Point(1, 2), { x: 1, y: 2 }));
  class Hidden {
    #secret: number;
    constructor(secret: number) {
      this.#secret = secret;
    }
    get secret(): number {
      return this.#secret;
    }
  }
  assertFalse(equal(new Hidden(1), new Hidden(2)), "getters on the prototype take part");
});

Deno.test("equal() handles circular references", () => {
  const a: Record<string, unknown> = { name: "a" };
  a.self = a;
  const b: Record<string, unknown> = { name: "a" };
  b.self = b;
  assert(equal(a, b));
  const c: Record<string, unknown> = { name: "c" };
  c.self = c;
  assertFalse(equal(a, c));
});

Deno.test("equal() compares WeakRef targets and refuses WeakMap/WeakSet", () => {
  const target = { x: 1 };
  assert(equal(new WeakRef(target), new WeakRef(target)));
  assertThrows(
    () => equal(new WeakMap(), new WeakMap()),
    TypeError,
    "Cannot compare WeakMap instances",
  );
  assertThrows(
    () => equal(new WeakSet(), new WeakSet()),
    TypeError,
    "Cannot compare WeakSet instances",
  );
});

Deno.test("equal() never equates distinct functions", () => {
  const f = () => 1;
  assert(equal(f, f));
  assertFalse(equal(() => 1, () => 1));
});
