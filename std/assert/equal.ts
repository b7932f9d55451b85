// SPDX-License-Identifier: GPL-2.0-only

/**
 * Structural ("deep") equality, the relation behind `assertEquals`,
 * `assertNotEquals`, `assertArrayIncludes` and `assertObjectMatch`.
 *
 * @module
 */

type Pairs = Map<object, Set<object>>;

/**
 * Reports whether two values have the same structure and contents.
 *
 * The rules, in the order they are applied:
 * - Identical values, and NaN against NaN, are equal; `0` and `-0` count as
 *   equal here (use `assertStrictEquals` to tell them apart).
 * - Any other pair where one side is a primitive or a function is unequal.
 * - Objects must share a prototype, except that a plain object and a
 *   prototype-less object (`Object.create(null)`) may be compared.
 * - Dates compare by time value, regular expressions by source and flags, URLs
 *   by `href`, boxed primitives by their primitive, errors by name and message,
 *   array buffers and views by their bytes or elements, weak references by
 *   their targets.
 * - Maps and Sets compare without regard to insertion order; object keys and
 *   members are matched structurally.
 * - Everything else compares by its own enumerable keys (strings and symbols):
 *   both sides must have the same keys and equal values under them, so
 *   `{ a: undefined }` differs from `{}` and a hole differs from `undefined`.
 * - `WeakMap` and `WeakSet` contents cannot be enumerated, so comparing two
 *   distinct ones throws a `TypeError` rather than guessing.
 *
 * Cyclic structures are supported: a pair already under comparison is taken as
 * equal, so two cycles of the same shape are equal.
 *
 * @example
 * ```ts
 * import { equal } from "@std/assert";
 * equal({ list: [1, 2] }, { list: [1, 2] }); // true
 * equal(new Set([1, 2]), new Set([2, 1])); // true
 * equal({ a: 1 }, { a: 1, b: undefined }); // false
 * ```
 *
 * @param a First value.
 * @param b Second value.
 * @returns `true` when the two values are structurally equal.
 */
export function equal(a: unknown, b: unknown): boolean {
  return same(a, b, new Map());
}

function isObject(v: unknown): v is object {
  return (typeof v === "object" && v !== null);
}

function sameValueZero(a: unknown, b: unknown): boolean {
  // deno-lint-ignore no-self-compare
  return a === b || (a !== a && b !== b);
}

function same(a: unknown, b: unknown, pairs: Pairs): boolean {
  if (sameValueZero(a, b)) return true;
  if (!isObject(a) || !isObject(b)) return false;
  if (!compatiblePrototypes(a, b)) return false;
  // A pair already being compared further up the stack is assumed equal, so
  // cycles terminate. The mark is removed afterwards: a verdict reached under
  // that assumption must not outlive it (claim() compares speculatively).
  let partners = pairs.get(a);
  if (partners?.has(b)) return true;
  if (!partners) pairs.set(a, partners = new Set());
  partners.add(b);
  try {
    return sameObject(a, b, pairs);
  } finally {
    partners.delete(b);
  }
}

function compatiblePrototypes(a: object, b: object): boolean {
  const pa = Object.getPrototypeOf(a);
  const pb = Object.getPrototypeOf(b);
  if (pa === pb) return true;
  const plain = (p: unknown) => p === null || p === Object.prototype;
  return plain(pa) && plain(pb);
}

function sameObject(a: object, b: object, pairs: Pairs): boolean {
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp) return String(a) === String(b);
  if (a instanceof URL) return a.href === (b as URL).href;
  if (
    a instanceof Number || a instanceof String || a instanceof Boolean ||
    a instanceof BigInt || a instanceof Symbol
  ) {
    if (!same(a.valueOf(), (b as typeof a).valueOf(), pairs)) return false;
    return sameKeys(a, b, pairs);
  }
  if (a instanceof WeakMap || a instanceof WeakSet) {
    throw new TypeError(
      `Cannot compare two distinct ${a.constructor.name} objects: their entries are not enumerable`,
    );
  }
  if (a instanceof WeakRef) return same(a.deref(), (b as WeakRef<object>).deref(), pairs);
  if (a instanceof Error) {
    const e = b as Error;
    if (a.name !== e.name || a.message !== e.message) return false;
    return sameKeys(a, b, pairs);
  }
  if (a instanceof ArrayBuffer || isSharedBuffer(a)) {
    return sameBytes(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  }
  if (a instanceof DataView) {
    const d = b as DataView;
    return sameBytes(
      new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
    );
  }
  if (ArrayBuffer.isView(a)) return sameElements(a as unknown as ArrayLike<unknown>, b, pairs);
  if (a instanceof Map) return sameMap(a, b as Map<unknown, unknown>, pairs);
  if (a instanceof Set) return sameSet(a, b as Set<unknown>, pairs);
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  return sameKeys(a, b, pairs);
}

function isSharedBuffer(v: object): v is SharedArrayBuffer {
  return typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function sameElements(x: ArrayLike<unknown>, b: object, pairs: Pairs): boolean {
  const y = b as ArrayLike<unknown>;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!same(x[i], y[i], pairs)) return false;
  return true;
}

function ownEnumerableKeys(o: object): PropertyKey[] {
  return Reflect.ownKeys(o).filter((k) => Object.prototype.propertyIsEnumerable.call(o, k));
}

function sameKeys(a: object, b: object, pairs: Pairs): boolean {
  const ka = ownEnumerableKeys(a);
  const kb = ownEnumerableKeys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<PropertyKey, unknown>;
  const ra = a as Record<PropertyKey, unknown>;
  for (const k of ka) {
    if (!Object.prototype.propertyIsEnumerable.call(b, k)) return false;
    if (!same(ra[k], rb[k], pairs)) return false;
  }
  return true;
}

/**
 * Finds, among `candidates` not yet `used`, one structurally equal to `x`.
 * Used for object keys and members, which `Map.has`/`Set.has` match by
 * identity only.
 */
function claim(
  x: unknown,
  candidates: Iterable<unknown>,
  used: Set<unknown>,
  pairs: Pairs,
  fits: (c: unknown) => boolean = () => true,
): boolean {
  for (const c of candidates) {
    if (used.has(c) || !isObject(c)) continue;
    if (same(x, c, pairs) && fits(c)) {
      used.add(c);
      return true;
    }
  }
  return false;
}

function sameMap(a: Map<unknown, unknown>, b: Map<unknown, unknown>, pairs: Pairs): boolean {
  if (a.size !== b.size) return false;
  const used = new Set<unknown>();
  for (const [k, v] of a) {
    if (b.has(k) && !used.has(k)) {
      if (!same(v, b.get(k), pairs)) return false;
      used.add(k);
      continue;
    }
    if (!isObject(k)) return false;
    if (!claim(k, b.keys(), used, pairs, (bk) => same(v, b.get(bk), pairs))) return false;
  }
  return true;
}

function sameSet(a: Set<unknown>, b: Set<unknown>, pairs: Pairs): boolean {
  if (a.size !== b.size) return false;
  const used = new Set<unknown>();
  for (const x of a) {
    if (b.has(x) && !used.has(x)) {
      used.add(x);
      continue;
    }
    if (!isObject(x) || !claim(x, b, used, pairs)) return false;
  }
  return true;
}
