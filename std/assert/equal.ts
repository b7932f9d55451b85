// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and semantics as its `equal`.

// Note: `node:util` isDeepStrictEqual differs (e.g. it ignores non-enumerable
// own properties and treats `0` and `-0` as different), so std's algorithm is
// reproduced here.

const TypedArray = Object.getPrototypeOf(Uint8Array);

// deno-lint-ignore no-explicit-any
const Temporal = (globalThis as any).Temporal ?? {};

/** Prototypes whose instances are equal exactly when their `String()` forms are. */
const STRING_COMPARABLE = new Set<unknown>(
  [
    RegExp,
    URL,
    URLSearchParams,
    Intl.Locale,
    Temporal.Duration,
    Temporal.Instant,
    Temporal.PlainDate,
    Temporal.PlainDateTime,
    Temporal.PlainTime,
    Temporal.PlainYearMonth,
    Temporal.PlainMonthDay,
    Temporal.ZonedDateTime,
  ].filter((ctor) => ctor != null).map((ctor) => ctor.prototype),
);

function isPrimitive(x: unknown): boolean {
  return x == null || (typeof x !== "object" && typeof x !== "function");
}

/** `===` plus NaN equal to NaN (so `0` equals `-0`). */
function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || Object.is(a, b);
}

/** Same prototype, treating `Object.prototype` and `null` prototypes as interchangeable. */
function sameShape(a: object, b: object): boolean {
  const pa = Object.getPrototypeOf(a);
  const pb = Object.getPrototypeOf(b);
  if (pa === pb) return true;
  const plain = (p: unknown) => p === null || p === Object.prototype;
  return plain(pa) && plain(pb);
}

function ownKeys(obj: object): (string | symbol)[] {
  return [...Object.getOwnPropertyNames(obj), ...Object.getOwnPropertySymbols(obj)];
}

/** Own keys (enumerable or not) of `obj` and its prototypes, up to the builtin ones. */
function keysDeep(obj: object | null): Set<string | symbol> {
  const keys = new Set<string | symbol>();
  for (
    ;
    obj !== null && obj !== Object.prototype && obj !== Array.prototype;
    obj = Object.getPrototypeOf(obj)
  ) {
    for (const key of ownKeys(obj)) keys.add(key);
  }
  return keys;
}

function indexedEqual(a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!sameValueZero(a[i], b[i])) return false;
  }
  return true;
}

/**
 * Deep equality comparison used by the assertions.
 *
 * Primitives are compared with SameValueZero (`NaN` equals `NaN`, `0` equals
 * `-0`); dates by time value; typed arrays and `ArrayBuffer`s element-wise;
 * `RegExp`, `URL` and similar by their string form; `Map` and `Set` by
 * content regardless of insertion order; other objects must share a
 * prototype and have deeply equal properties (for class instances this
 * includes non-enumerable and inherited ones). Circular references are
 * supported. Comparing two `WeakMap`s or `WeakSet`s throws a `TypeError`.
 *
 * @param a The actual value.
 * @param b The expected value.
 * @returns `true` if the values are deeply equal, `false` otherwise.
 *
 * @example Usage
 * ```ts
 * import { equal } from "@std/assert";
 *
 * equal({ foo: "bar" }, { foo: "bar" }); // true
 * equal({ foo: "bar" }, { foo: "baz" }); // false
 * ```
 */
export function equal(a: unknown, b: unknown): boolean {
  const seen = new Map<unknown, unknown>();

  function mapsEqual(
    a: Map<unknown, unknown> | Set<unknown>,
    b: Map<unknown, unknown> | Set<unknown>,
  ) {
    if (a.size !== b.size) return false;
    const keys = [...a.keys()];
    if (keys.every(isPrimitive)) {
      if (a instanceof Set) return a.symmetricDifference(b as Set<unknown>).size === 0;
      const bm = b as Map<unknown, unknown>;
      return keys.every((key) => bm.has(key) && compare(a.get(key), bm.get(key)));
    }
    // Object keys: every entry of `a` needs a deeply equal entry in `b`.
    let unmatched = a.size;
    for (const [aKey, aValue] of a.entries()) {
      for (const [bKey, bValue] of b.entries()) {
        if (!compare(aKey, bKey)) continue;
        if ((aKey === aValue && bKey === bValue) || compare(aValue, bValue)) {
          unmatched--;
          break;
        }
      }
    }
    return unmatched === 0;
  }

  function compare(a: unknown, b: unknown): boolean {
    if (sameValueZero(a, b)) return true;
    if (isPrimitive(a) || isPrimitive(b)) return false;
    if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime());
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
    if (!sameShape(a, b)) return false;

    if (a instanceof TypedArray) {
      return indexedEqual(a as ArrayLike<unknown>, b as ArrayLike<unknown>);
    }
    if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) {
      return indexedEqual(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
    }
    if (a instanceof WeakMap) throw new TypeError("Cannot compare WeakMap instances");
    if (a instanceof WeakSet) throw new TypeError("Cannot compare WeakSet instances");
    if (a instanceof WeakRef) return compare(a.deref(), (b as WeakRef<WeakKey>).deref());

    if (seen.get(a) === b) return true;
    if (Object.keys(a).length !== Object.keys(b).length) return false;
    seen.set(a, b);

    if ((a instanceof Map || a instanceof Set) && (b instanceof Map || b instanceof Set)) {
      return mapsEqual(a, b);
    }

    let keys: Iterable<string | symbol>;
    const proto = Object.getPrototypeOf(a);
    if (proto === null || proto === Object.prototype || proto === Array.prototype) {
      keys = ownKeys({ ...a, ...b });
    } else if (STRING_COMPARABLE.has(proto)) {
      return String(a) === String(b);
    } else {
      keys = keysDeep(a).union(keysDeep(b));
    }
    const ra = a as Record<string | symbol, unknown>;
    const rb = b as Record<string | symbol, unknown>;
    for (const key of keys) {
      if (!compare(ra[key], rb[key])) return false;
      if ((key in a) !== (key in b)) return false;
    }
    return true;
  }

  return compare(a, b);
}
