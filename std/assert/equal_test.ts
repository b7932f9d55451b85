// SPDX-License-Identifier: GPL-2.0-only
// Spec for equal(): each test names one rule and checks both directions of it.

import { equal } from "./equal.ts";

function yes(a: unknown, b: unknown): void {
  if (!equal(a, b) || !equal(b, a)) throw new Error(`expected equal: ${Deno.inspect([a, b])}`);
}
function no(a: unknown, b: unknown): void {
  if (equal(a, b) || equal(b, a)) throw new Error(`expected unequal: ${Deno.inspect([a, b])}`);
}

Deno.test("equal: primitives by SameValueZero", () => {
  yes(1, 1);
  yes("x", "x");
  yes(NaN, NaN);
  yes(0, -0);
  yes(10n, 10n);
  yes(null, null);
  yes(undefined, undefined);
  no(1, "1");
  no(null, undefined);
  no(0, false);
  no(1n, 1);
  no(Symbol("s"), Symbol("s"));
});

Deno.test("equal: functions only by identity", () => {
  const f = () => 1;
  yes(f, f);
  no(f, () => 1);
  no(f, {});
});

Deno.test("equal: plain objects by own enumerable keys, any order", () => {
  yes({ a: 1, b: [2] }, { b: [2], a: 1 });
  no({ a: 1 }, { a: 2 });
  no({ a: 1 }, { a: 1, b: 2 });
  no({ a: undefined }, {});
  no({ a: undefined }, { b: undefined });
  const sym = Symbol("k");
  yes({ [sym]: 1 }, { [sym]: 1 });
  no({ [sym]: 1 }, { [sym]: 2 });
  const hidden = {};
  Object.defineProperty(hidden, "x", { value: 1, enumerable: false });
  yes(hidden, {});
});

Deno.test("equal: prototypes must match, null prototype counts as plain", () => {
  class P {
    constructor(public x: number) {}
  }
  class Q {
    constructor(public x: number) {}
  }
  yes(new P(1), new P(1));
  no(new P(1), new P(2));
  no(new P(1), new Q(1));
  no(new P(1), { x: 1 });
  const bare = Object.create(null);
  bare.x = 1;
  yes(bare, { x: 1 });
  no([1], { 0: 1, length: 1 });
});

Deno.test("equal: arrays by length and elements, holes are not undefined", () => {
  yes([1, [2, [3]]], [1, [2, [3]]]);
  no([1, 2], [2, 1]);
  no([1], [1, undefined]);
  // deno-lint-ignore no-sparse-arrays
  no([, 1], [undefined, 1]);
  const tagged = Object.assign([1], { tag: "t" });
  no(tagged, [1]);
  yes(tagged, Object.assign([1], { tag: "t" }));
});

Deno.test("equal: dates, regexps, URLs, boxed primitives", () => {
  yes(new Date(5), new Date(5));
  no(new Date(5), new Date(6));
  yes(new Date(NaN), new Date(NaN));
  yes(/a+/gi, /a+/gi);
  no(/a+/g, /a+/i);
  no(/a/, /b/);
  yes(new URL("http://h/p?q#f"), new URL("http://h/p?q#f"));
  no(new URL("http://h/a"), new URL("http://h/b"));
  yes(new Number(3), new Number(3));
  no(new Number(3), new Number(4));
  no(new String("a"), new String("b"));
  no(new Boolean(true), new Boolean(false));
  no(new Number(3), 3);
});

Deno.test("equal: errors by class, name and message", () => {
  yes(new TypeError("x"), new TypeError("x"));
  no(new TypeError("x"), new TypeError("y"));
  no(new TypeError("x"), new RangeError("x"));
  no(Object.assign(new Error("x"), { code: 1 }), new Error("x"));
});

Deno.test("equal: binary data by contents", () => {
  yes(new Uint8Array([1, 2]), new Uint8Array([1, 2]));
  no(new Uint8Array([1, 2]), new Uint8Array([1, 3]));
  no(new Uint8Array([1]), new Int8Array([1]));
  no(new Uint8Array([1]), new Uint8Array([1, 0]));
  yes(new Float64Array([NaN]), new Float64Array([NaN]));
  yes(new Uint8Array([7]).buffer, new Uint8Array([7]).buffer);
  no(new Uint8Array([7]).buffer, new Uint8Array([8]).buffer);
  const buf = new Uint8Array([0, 1, 2, 3]).buffer;
  yes(new DataView(buf, 1, 2), new DataView(new Uint8Array([1, 2]).buffer));
  no(new DataView(buf, 0, 2), new DataView(buf, 1, 2));
});

Deno.test("equal: maps and sets ignore order and match object keys structurally", () => {
  yes(new Map([["a", 1], ["b", 2]]), new Map([["b", 2], ["a", 1]]));
  no(new Map([["a", 1]]), new Map([["a", 2]]));
  no(new Map([["a", 1]]), new Map([["b", 1]]));
  no(new Map([["a", 1]]), new Map([["a", 1], ["b", 2]]));
  yes(new Map([[{ k: 1 }, "v"]]), new Map([[{ k: 1 }, "v"]]));
  no(new Map([[{ k: 1 }, "v"]]), new Map([[{ k: 1 }, "w"]]));
  yes(new Set([1, 2, 3]), new Set([3, 2, 1]));
  no(new Set([1, 2]), new Set([1, 3]));
  yes(new Set([[1], [2]]), new Set([[2], [1]]));
  // Each member is matched once: two equal members on one side need two on the other.
  no(new Set([[1], [1]]), new Set([[1], [2]]));
  yes(new Map([[{ k: 1 }, 1], [{ k: 1 }, 2]]), new Map([[{ k: 1 }, 2], [{ k: 1 }, 1]]));
});

Deno.test("equal: cycles of the same shape are equal", () => {
  type Node = { v: number; next?: Node };
  const a: Node = { v: 1 };
  a.next = a;
  const b: Node = { v: 1 };
  b.next = b;
  yes(a, b);
  const c: Node = { v: 2 };
  c.next = c;
  no(a, c);
  const d: Node = { v: 1, next: { v: 1 } };
  d.next!.next = d;
  yes(a, d);
});

Deno.test("equal: a failed speculative match does not leave a false 'equal' behind", () => {
  const shared = { n: 1 };
  const other = { n: 2 };
  no(new Set([shared, other]), new Set([{ n: 1 }, { n: 3 }]));
  no([new Set([{ n: 1 }]), shared], [new Set([{ n: 1 }]), other]);
});

Deno.test("equal: weak references by target, weak collections refuse", () => {
  const t = { x: 1 };
  yes(new WeakRef(t), new WeakRef({ x: 1 }));
  const wm = new WeakMap();
  yes(wm, wm);
  let threw = false;
  try {
    equal(new WeakMap(), new WeakMap());
  } catch (e) {
    threw = e instanceof TypeError;
  }
  if (!threw) throw new Error("comparing two WeakMaps should throw TypeError");
  no(new WeakSet(), new Set());
});
