// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertObjectMatch`.
import { assertEquals } from "./assert_equals.ts";

type Loose = Record<PropertyKey, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === "object" && value !== null;
}

function define(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    configurable: true,
    enumerable: true,
    writable: true,
  });
}

/**
 * Keeps the parts of `actual` that `expected` mentions (recursively through
 * objects, arrays, maps and sets) so the two can be compared with `assertEquals`.
 */
function project(actual: Loose, expected: Loose): Loose {
  const seen = new WeakMap<object, object>();

  function projectObject(a: Loose, b: Loose): Loose {
    if (seen.get(a) === b) return a; // circular reference already being projected
    try {
      seen.set(a, b);
    } catch (err) {
      if (err instanceof TypeError) {
        throw new TypeError(`Cannot assertObjectMatch ${a === null ? null : `type ${typeof a}`}`);
      }
    }
    const out: Loose = {};
    const keysA = Reflect.ownKeys(a);
    const keysB = Reflect.ownKeys(b);
    const shared = keysA.filter((key) => keysB.includes(key));
    if (keysA.length > 0 && keysB.length > 0 && shared.length === 0) {
      // Nothing in common: keep `a` whole so the diff shows what it has.
      for (const key of keysA) define(out, key, a[key]);
      return out;
    }
    for (const key of shared) define(out, key, projectValue(a[key], b[key]));
    return out;
  }

  function projectArray(a: unknown[], b: unknown[]): unknown[] {
    if (seen.get(a) === b) return a;
    seen.set(a, b);
    const out: unknown[] = [];
    for (let i = 0; i < Math.min(a.length, b.length); i++) out.push(projectValue(a[i], b[i]));
    return out;
  }

  function projectValue(value: unknown, subset: unknown): unknown {
    if (value instanceof RegExp) return value;
    if (Array.isArray(value) && Array.isArray(subset)) return projectArray(value, subset);
    if (!isObject(value) || !isObject(subset)) return value;
    if (value instanceof Map && subset instanceof Map) {
      return new Map(
        [...value].filter(([key]) => subset.has(key)).map(([key, v]) => {
          const w = subset.get(key);
          return [key, isObject(v) && isObject(w) ? projectObject(v, w) : v];
        }),
      );
    }
    if (value instanceof Set && subset instanceof Set) return value.intersection(subset);
    return projectObject(value, subset);
  }

  return projectObject(actual, expected);
}

/**
 * Make an assertion that `expected` object is a subset of `actual` object,
 * deeply. If not, then throw a diff of the objects, with mismatching
 * properties highlighted.
 *
 * @example Usage
 * ```ts ignore
 * import { assertObjectMatch } from "@std/assert";
 *
 * assertObjectMatch({ foo: "bar" }, { foo: "bar" }); // Doesn't throw
 * assertObjectMatch({ foo: "bar" }, { foo: "baz" }); // Throws
 * assertObjectMatch({ foo: 1, bar: 2 }, { foo: 1 }); // Doesn't throw
 * assertObjectMatch({ foo: 1 }, { foo: 1, bar: 2 }); // Throws
 * ```
 *
 * @param actual The actual value to be matched.
 * @param expected The expected value to match.
 * @param msg The optional message to display if the assertion fails.
 */
export function assertObjectMatch(
  // deno-lint-ignore no-explicit-any
  actual: Record<PropertyKey, any>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
): void {
  // Projecting `expected` onto itself turns class instances into plain objects like the
  // projection of `actual`, so only the selected values take part in the comparison.
  return assertEquals(project(actual, expected), project(expected, expected), msg);
}
