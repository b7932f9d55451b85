// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertInstanceOf`.
import { AssertionError } from "./assertion_error.ts";
import { suffix } from "./_internal.ts";

/** Any constructor */
// deno-lint-ignore no-explicit-any
export type AnyConstructor = new (...args: any[]) => any;
/** Gets constructor type */
export type GetConstructorType<T extends AnyConstructor> = InstanceType<T>;

/**
 * Make an assertion that `obj` is an instance of `type`.
 * If not then throw.
 *
 * @example Usage
 * ```ts ignore
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(new Date(), Date); // Doesn't throw
 * assertInstanceOf(new Date(), Number); // Throws
 * ```
 *
 * @typeParam T The expected type of the object.
 * @param actual The object to check.
 * @param expectedType The expected class constructor.
 * @param msg The optional message to display if the assertion fails.
 */
export function assertInstanceOf<T extends AnyConstructor>(
  actual: unknown,
  expectedType: T,
  msg = "",
): asserts actual is GetConstructorType<T> {
  if (actual instanceof expectedType) return;
  const expectedName = expectedType.name;
  const actualName = actual === null
    ? "null"
    : actual === undefined
    ? "undefined"
    : typeof actual === "object"
    ? actual.constructor?.name ?? "Object"
    : typeof actual;
  const head = `Expected object to be an instance of "${expectedName}"`;
  const detail = expectedName === actualName
    ? ""
    : actualName === "function"
    ? " but was not an instanced object"
    : ` but was "${actualName}"`;
  throw new AssertionError(`${head}${detail}${suffix(msg)}`);
}
