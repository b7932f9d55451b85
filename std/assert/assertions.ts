// SPDX-License-Identifier: GPL-2.0-only

/**
 * The assertion functions. Each returns normally when its check holds and
 * otherwise throws {@linkcode AssertionError}; the optional `msg` argument is
 * appended to the message as `": msg"` (without it the first line ends in a
 * full stop).
 *
 * @module
 */

import { AssertionError } from "./assertion_error.ts";
import { equal } from "./equal.ts";
import { format, renderDiff } from "./format.ts";

/** Values that JavaScript treats as false in a condition. */
export type Falsy = false | 0 | 0n | "" | null | undefined;

/** Any class (or other constructor) whatever its parameters. */
// deno-lint-ignore no-explicit-any
export type AnyConstructor = new (...args: any[]) => any;

/** The type of the objects a constructor builds. */
export type GetConstructorType<T extends AnyConstructor> = InstanceType<T>;

/** An array or other indexed list, as taken by {@linkcode assertArrayIncludes}. */
export type ArrayLikeArg<T> = ArrayLike<T> & object;

/** Error classes are taken abstract so a base class like `Deno.errors` entries works too. */
// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = abstract new (...args: any[]) => E;

/** The tail of a message: the caller's note, or a full stop when there is none. */
function tail(msg: string | undefined): string {
  return msg ? `: ${msg}` : ".";
}

/**
 * Asserts that `expr` is truthy, narrowing its type for the code after it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * const port: number | undefined = 8080;
 * assert(port !== undefined, "port must be configured");
 * ```
 *
 * @param expr The condition that must hold.
 * @param msg The whole error message when it does not (empty by default).
 * @throws {AssertionError} When `expr` is falsy.
 */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg);
}

/**
 * Asserts that `expr` is falsy.
 *
 * @example
 * ```ts
 * import { assertFalse } from "@std/assert";
 * assertFalse("".length);
 * ```
 *
 * @param expr The condition that must not hold.
 * @param msg The whole error message when it does (empty by default).
 * @throws {AssertionError} When `expr` is truthy.
 */
export function assertFalse(expr: unknown, msg = ""): asserts expr is Falsy {
  if (expr) throw new AssertionError(msg);
}

/**
 * Asserts that `actual` and `expected` are structurally equal by
 * {@linkcode equal}. The message starts `Values are not equal` and goes on
 * with a line diff of the two values.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals({ id: 1, tags: ["a"] }, { id: 1, tags: ["a"] });
 * ```
 *
 * @typeParam T The type both values share.
 * @param actual The value produced by the code under test.
 * @param expected The value it should equal.
 * @param msg Note added to the first line of the message.
 * @throws {AssertionError} When the values differ.
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) return;
  throw new AssertionError(
    `Values are not equal${tail(msg)}\n\n${renderDiff(actual, expected)}`,
  );
}

/**
 * Asserts that `actual` and `expected` are not structurally equal.
 *
 * @example
 * ```ts
 * import { assertNotEquals } from "@std/assert";
 * assertNotEquals([1, 2], [2, 1]);
 * ```
 *
 * @typeParam T The type both values share.
 * @param actual The value produced by the code under test.
 * @param expected The value it must differ from.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When the values are equal.
 */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!equal(actual, expected)) return;
  throw new AssertionError(
    `Expected actual: ${format(actual)} not to be: ${format(expected)}${tail(msg)}`,
  );
}

/**
 * Asserts that `actual` is the very same value as `expected` (`Object.is`):
 * the same object, or the same primitive, with `NaN` equal to itself and `0`
 * different from `-0`.
 *
 * @example
 * ```ts
 * import { assertStrictEquals } from "@std/assert";
 * const config = { debug: true };
 * const same = config;
 * assertStrictEquals(same, config);
 * ```
 *
 * @typeParam T The type of `expected`; `actual` is narrowed to it.
 * @param actual The value produced by the code under test.
 * @param expected The value it must be.
 * @param msg Note added to the first line of the message.
 * @throws {AssertionError} When the values are not identical.
 */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (Object.is(actual, expected)) return;
  const a = format(actual);
  const e = format(expected);
  if (a === e) {
    const shown = a.split("\n").map((l) => `    ${l}`).join("\n");
    throw new AssertionError(
      `Values have the same structure but are not reference-equal${tail(msg)}\n\n${shown}`,
    );
  }
  throw new AssertionError(
    `Values are not strictly equal${tail(msg)}\n\n${renderDiff(actual, expected)}`,
  );
}

/**
 * Asserts that `actual` is neither `null` nor `undefined`.
 *
 * @example
 * ```ts
 * import { assertExists } from "@std/assert";
 * const found: string | undefined = ["a", "b"].find((x) => x === "b");
 * assertExists(found);
 * ```
 *
 * @typeParam T The type of `actual`; narrowed to exclude null and undefined.
 * @param actual The value to check.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When `actual` is null or undefined.
 */
export function assertExists<T>(actual: T, msg?: string): asserts actual is NonNullable<T> {
  if (actual !== null && actual !== undefined) return;
  throw new AssertionError(
    `Expected actual: "${actual}" to not be null or undefined${tail(msg)}`,
  );
}

/**
 * Asserts that `actual` is an instance of `expectedType`, narrowing it.
 *
 * @example
 * ```ts
 * import { assertInstanceOf } from "@std/assert";
 * assertInstanceOf(new Date(0), Date);
 * ```
 *
 * @typeParam T The constructor.
 * @param actual The value to check.
 * @param expectedType The class it must be an instance of.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When `actual` is not an instance of the class.
 */
export function assertInstanceOf<T extends AnyConstructor>(
  actual: unknown,
  expectedType: T,
  msg = "",
): asserts actual is GetConstructorType<T> {
  if (actual instanceof expectedType) return;
  const want = expectedType.name;
  let got: string;
  if (actual === null) got = "null";
  else if (actual === undefined) got = "undefined";
  else if (typeof actual === "object") got = actual.constructor?.name ?? "Object";
  else got = typeof actual;
  let detail: string;
  if (got === want) detail = "";
  else if (got === "function") detail = " but was not an instanced object";
  else detail = ` but was "${got}"`;
  throw new AssertionError(
    `Expected object to be an instance of "${want}"${detail}${tail(msg)}`,
  );
}

/**
 * Asserts that `error` is an `Error`, optionally of class `ErrorClass` and with
 * a message that includes a string or matches a regular expression.
 *
 * @example
 * ```ts
 * import { assertIsError } from "@std/assert";
 * const e: unknown = new RangeError("index 9 out of range");
 * assertIsError(e, RangeError, /out of range/);
 * ```
 *
 * @typeParam E The error type `error` is narrowed to.
 * @param error The thrown value to check.
 * @param ErrorClass The class `error` must be an instance of.
 * @param msgMatches Text the message must contain, or a pattern it must match.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When any of the checks fails.
 */
export function assertIsError<E extends Error = Error>(
  error: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: abstract new (...args: any[]) => E,
  msgMatches?: string | RegExp,
  msg?: string,
): asserts error is E {
  if (!(error instanceof Error)) {
    throw new AssertionError(`Expected "error" to be an Error object${tail(msg)}`);
  }
  if (ErrorClass && !(error instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${error.constructor?.name}"${
        tail(msg)
      }`,
    );
  }
  if (msgMatches === undefined || msgMatches === "") return;
  const text = stripAnsi(error.message);
  const ok = typeof msgMatches === "string"
    ? text.includes(stripAnsi(msgMatches))
    : msgMatches.test(text);
  if (ok) return;
  const wanted = typeof msgMatches === "string" ? JSON.stringify(msgMatches) : String(msgMatches);
  throw new AssertionError(
    `Expected error message to include ${wanted}, but got ${JSON.stringify(error.message)}${
      tail(msg)
    }`,
  );
}

/** Colour codes in an error message must not defeat a text match. */
function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

/** True when `v` is `Error` or a subclass of it (not an instance). */
function isErrorClass(v: unknown): v is ErrorClass<Error> {
  return typeof v === "function" &&
    (v === Error || v.prototype instanceof Error);
}

/**
 * Sorts the trailing arguments of `assertThrows`/`assertRejects`: they are
 * either `(msg)` or `(ErrorClass, msgIncludes, msg)`.
 */
function throwsArgs(
  classOrMsg: unknown,
  includesOrMsg: string | undefined,
  msg: string | undefined,
): { cls?: ErrorClass<Error>; includes?: string; msg?: string } {
  if (typeof classOrMsg === "string") return { msg: classOrMsg };
  if (classOrMsg === undefined || isErrorClass(classOrMsg)) {
    const out: { cls?: ErrorClass<Error>; includes?: string; msg?: string } = {};
    if (classOrMsg) out.cls = classOrMsg;
    if (includesOrMsg !== undefined) out.includes = includesOrMsg;
    if (msg !== undefined) out.msg = msg;
    return out;
  }
  // Not a string and not an error class: the second argument is the note.
  return includesOrMsg === undefined ? {} : { msg: includesOrMsg };
}

/**
 * Asserts that calling `fn` throws, and returns what it threw.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * assertThrows(() => JSON.parse("{"));
 * ```
 *
 * @param fn The function to call.
 * @param msg Note appended to the message.
 * @returns The thrown value.
 * @throws {AssertionError} When `fn` returns normally.
 */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/**
 * Asserts that calling `fn` throws an instance of `ErrorClass` whose message
 * includes `msgIncludes`, and returns the error.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * const e = assertThrows(() => new URL("no scheme"), TypeError, "Invalid URL");
 * e.message;
 * ```
 *
 * @typeParam E The error type returned.
 * @param fn The function to call.
 * @param ErrorClass The class the thrown error must be an instance of.
 * @param msgIncludes Text the error's message must contain.
 * @param msg Note appended to the message.
 * @returns The thrown error.
 * @throws {AssertionError} When `fn` returns normally or throws something else.
 */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: abstract new (...args: any[]) => E,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  errorClassOrMsg?: (abstract new (...args: any[]) => E) | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): E | Error | unknown {
  const opt = throwsArgs(errorClassOrMsg, msgIncludesOrMsg, msg);
  try {
    fn();
  } catch (thrown) {
    if (opt.cls) {
      if (!(thrown instanceof Error)) {
        throw new AssertionError(`A non-Error object was thrown${tail(opt.msg)}`);
      }
      assertIsError(thrown, opt.cls, opt.includes, opt.msg);
    }
    return thrown;
  }
  throw new AssertionError(`Expected function to throw${tail(opt.msg)}`);
}

/**
 * Asserts that the promise `fn` returns rejects, and resolves to the reason.
 * `fn` must return a promise: throwing synchronously is a failure too.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * await assertRejects(() => Promise.reject(new Error("boom")));
 * ```
 *
 * @param fn The function whose promise must reject.
 * @param msg Note appended to the message.
 * @returns The rejection reason.
 * @throws {AssertionError} When the promise fulfils or `fn` throws.
 */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
/**
 * Asserts that the promise `fn` returns rejects with an instance of
 * `ErrorClass` whose message includes `msgIncludes`, and resolves to it.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * await assertRejects(
 *   () => Deno.readTextFile("/no/such/file"),
 *   Deno.errors.NotFound,
 * );
 * ```
 *
 * @typeParam E The error type resolved.
 * @param fn The function whose promise must reject.
 * @param ErrorClass The class the reason must be an instance of.
 * @param msgIncludes Text the reason's message must contain.
 * @param msg Note appended to the message.
 * @returns The rejection reason.
 * @throws {AssertionError} When the promise fulfils, `fn` throws, or the
 * reason does not match.
 */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: abstract new (...args: any[]) => E,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  errorClassOrMsg?: (abstract new (...args: any[]) => E) | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): Promise<E | Error | unknown> {
  const opt = throwsArgs(errorClassOrMsg, msgIncludesOrMsg, msg);
  let pending: PromiseLike<unknown>;
  try {
    pending = fn();
  } catch {
    throw new AssertionError(`Function throws when expected to reject${tail(opt.msg)}`);
  }
  if (
    pending === null || typeof pending !== "object" ||
    typeof (pending as { then?: unknown }).then !== "function"
  ) {
    throw new AssertionError(`Function throws when expected to reject${tail(opt.msg)}`);
  }
  try {
    await pending;
  } catch (reason) {
    if (opt.cls) {
      if (!(reason instanceof Error)) {
        throw new AssertionError(`A non-Error object was rejected${tail(opt.msg)}`);
      }
      assertIsError(reason, opt.cls, opt.includes, opt.msg);
    }
    return reason;
  }
  throw new AssertionError(`Expected function to reject${tail(opt.msg)}`);
}

/**
 * Asserts that `actual` matches the regular expression `expected`.
 *
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * assertMatch("v1.2.3", /^v\d+\.\d+\.\d+$/);
 * ```
 *
 * @param actual The text to test.
 * @param expected The pattern it must match.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When it does not match.
 */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (expected.test(actual)) return;
  throw new AssertionError(`Expected actual: "${actual}" to match: "${expected}"${tail(msg)}`);
}

/**
 * Asserts that the string `actual` contains `expected`.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * assertStringIncludes("permission denied (os error 13)", "denied");
 * ```
 *
 * @param actual The text to search.
 * @param expected The text that must occur in it.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When it does not occur.
 */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (actual.includes(expected)) return;
  throw new AssertionError(`Expected actual: "${actual}" to contain: "${expected}"${tail(msg)}`);
}

/**
 * Asserts that every element of `expected` is structurally equal to some
 * element of `actual` (order and multiplicity ignored).
 *
 * @example
 * ```ts
 * import { assertArrayIncludes } from "@std/assert";
 * assertArrayIncludes([{ id: 1 }, { id: 2 }, { id: 3 }], [{ id: 3 }, { id: 1 }]);
 * ```
 *
 * @typeParam T The element type.
 * @param actual The list to search.
 * @param expected The elements that must be present.
 * @param msg Note appended to the message.
 * @throws {AssertionError} When an element is missing; the message lists them.
 */
export function assertArrayIncludes<T>(
  actual: ArrayLikeArg<T>,
  expected: ArrayLikeArg<T>,
  msg?: string,
): void {
  const have = Array.from(actual);
  const missing = Array.from(expected).filter((x) => !have.some((y) => equal(x, y)));
  if (missing.length === 0) return;
  throw new AssertionError(
    `Expected actual: "${format(actual)}" to include: "${format(expected)}"${tail(msg)}\n` +
      `missing: ${format(missing)}`,
  );
}

/**
 * Asserts that `actual` contains `expected` as a subset: every key of
 * `expected` must be present in `actual` with an equal value, where nested
 * objects (also inside arrays and maps) are again compared as subsets. Extra
 * keys in `actual` are ignored; arrays must have the same length.
 *
 * @example
 * ```ts
 * import { assertObjectMatch } from "@std/assert";
 * const user = { id: 7, name: "ada", meta: { admin: true, since: 2020 } };
 * assertObjectMatch(user, { name: "ada", meta: { admin: true } });
 * ```
 *
 * @param actual The object to check.
 * @param expected The keys and values it must contain.
 * @param msg Note added to the first line of the message.
 * @throws {AssertionError} When a key is missing or a value differs; the
 * message diffs the relevant part of `actual` against `expected`.
 */
export function assertObjectMatch(
  // deno-lint-ignore no-explicit-any
  actual: Record<PropertyKey, any>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
): void {
  assertEquals(project(actual, expected, new Map()), expected, msg);
}

function isRecord(v: unknown): v is Record<PropertyKey, unknown> {
  return typeof v === "object" && v !== null;
}

/**
 * The part of `actual` that `expected` talks about, shaped like `expected`, so
 * that a plain equality check between the two is a subset check. Values whose
 * shapes differ are carried over unchanged and then fail that check.
 */
function project(actual: unknown, expected: unknown, seen: Map<object, unknown>): unknown {
  if (!isRecord(actual) || !isRecord(expected)) return actual;
  const done = seen.get(actual);
  if (done !== undefined) return done;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    const out: unknown[] = [];
    seen.set(actual, out);
    actual.forEach((v, i) => out.push(i < expected.length ? project(v, expected[i], seen) : v));
    return out;
  }
  if (actual instanceof Map && expected instanceof Map) {
    const out = new Map<unknown, unknown>();
    seen.set(actual, out);
    for (const [k, v] of expected) {
      if (actual.has(k)) out.set(k, project(actual.get(k), v, seen));
    }
    return out;
  }
  if (
    Object.getPrototypeOf(expected) !== Object.prototype &&
    Object.getPrototypeOf(expected) !== null
  ) {
    // Class instances, dates, sets...: compared whole.
    return actual;
  }
  const out: Record<PropertyKey, unknown> = {};
  seen.set(actual, out);
  for (const key of Reflect.ownKeys(expected)) {
    if (!Object.prototype.propertyIsEnumerable.call(expected, key)) continue;
    if (!(key in actual)) continue;
    Object.defineProperty(out, key, {
      value: project(actual[key], expected[key], seen),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Asserts that `actual > expected`.
 *
 * @example
 * ```ts
 * import { assertGreater } from "@std/assert";
 * assertGreater(3, 2);
 * ```
 *
 * @typeParam T The type of both values.
 * @param actual The value to compare.
 * @param expected The bound it must exceed.
 * @param msg Replaces the message when given.
 * @throws {AssertionError} When the comparison is false.
 */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (actual > expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} > ${format(expected)}`);
}

/**
 * Asserts that `actual >= expected`.
 *
 * @example
 * ```ts
 * import { assertGreaterOrEqual } from "@std/assert";
 * assertGreaterOrEqual(2, 2);
 * ```
 *
 * @typeParam T The type of both values.
 * @param actual The value to compare.
 * @param expected The bound it must reach.
 * @param msg Replaces the message when given.
 * @throws {AssertionError} When the comparison is false.
 */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual >= expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} >= ${format(expected)}`);
}

/**
 * Asserts that `actual < expected`.
 *
 * @example
 * ```ts
 * import { assertLess } from "@std/assert";
 * assertLess(1n, 2n);
 * ```
 *
 * @typeParam T The type of both values.
 * @param actual The value to compare.
 * @param expected The bound it must stay under.
 * @param msg Replaces the message when given.
 * @throws {AssertionError} When the comparison is false.
 */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (actual < expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} < ${format(expected)}`);
}

/**
 * Asserts that `actual <= expected`.
 *
 * @example
 * ```ts
 * import { assertLessOrEqual } from "@std/assert";
 * assertLessOrEqual("abc", "abd");
 * ```
 *
 * @typeParam T The type of both values.
 * @param actual The value to compare.
 * @param expected The bound it must not exceed.
 * @param msg Replaces the message when given.
 * @throws {AssertionError} When the comparison is false.
 */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual <= expected) return;
  throw new AssertionError(msg ?? `Expect ${format(actual)} <= ${format(expected)}`);
}

/**
 * Fails unconditionally, e.g. in a branch a test must not reach.
 *
 * @example
 * ```ts
 * import { fail } from "@std/assert";
 * try {
 *   JSON.parse("[]");
 * } catch {
 *   fail("valid JSON was rejected");
 * }
 * ```
 *
 * @param msg Note appended to the message.
 * @throws {AssertionError} Always.
 */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${tail(msg)}`);
}

/**
 * Marks code that cannot run if the program is correct, such as the default of
 * an exhaustive switch.
 *
 * @example
 * ```ts
 * import { unreachable } from "@std/assert";
 * function sign(n: -1 | 1): string {
 *   if (n === 1) return "+";
 *   if (n === -1) return "-";
 *   unreachable();
 * }
 * sign(1);
 * ```
 *
 * @param msg Note appended to the message.
 * @throws {AssertionError} Always.
 */
export function unreachable(msg?: string): never {
  throw new AssertionError(`Unreachable${tail(msg)}`);
}
