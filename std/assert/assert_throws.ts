// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertThrows`.
import { AssertionError } from "./assertion_error.ts";
import { assertIsError } from "./assert_is_error.ts";
import { isErrorClass, suffix } from "./_internal.ts";

// deno-lint-ignore no-explicit-any
type ErrorCtor<E> = abstract new (...args: any[]) => E;

/**
 * Executes a function, expecting it to throw. If it does not, then it
 * throws.
 *
 * To assert that an asynchronous function rejects, use
 * {@linkcode assertRejects}.
 *
 * @example Usage
 * ```ts ignore
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => { throw new TypeError("hello world!"); }); // Doesn't throw
 * assertThrows(() => console.log("hello world!")); // Throws
 * ```
 *
 * @param fn The function to execute.
 * @param msg The optional message to display if the assertion fails.
 * @returns The error that was thrown.
 */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/**
 * Executes a function, expecting it to throw. If it does not, then it
 * throws. An error class and a string that should be included in the
 * error message can also be asserted.
 *
 * To assert that an asynchronous function rejects, use
 * {@linkcode assertRejects}.
 *
 * @example Usage
 * ```ts ignore
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => { throw new TypeError("hello world!"); }, TypeError); // Doesn't throw
 * assertThrows(() => { throw new TypeError("hello world!"); }, RangeError); // Throws
 * ```
 *
 * @typeParam E The error class to assert.
 * @param fn The function to execute.
 * @param ErrorClass The error class to assert.
 * @param msgIncludes The string that should be included in the error message.
 * @param msg The optional message to display if the assertion fails.
 * @returns The error that was thrown.
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
  errorClassOrMsg?: ErrorCtor<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): E | Error | unknown {
  let ErrorClass: ErrorCtor<E> | undefined;
  let msgIncludes: string | undefined;
  if (typeof errorClassOrMsg === "string") {
    msg = errorClassOrMsg;
  } else if (errorClassOrMsg === undefined || isErrorClass(errorClassOrMsg)) {
    ErrorClass = errorClassOrMsg;
    msgIncludes = msgIncludesOrMsg;
  } else {
    msg = msgIncludesOrMsg;
  }
  let thrown = false;
  let error: unknown;
  try {
    fn();
  } catch (e) {
    thrown = true;
    error = e;
  }
  if (!thrown) throw new AssertionError(`Expected function to throw${suffix(msg)}`);
  if (ErrorClass) {
    if (!(error instanceof Error)) {
      throw new AssertionError(`A non-Error object was thrown${suffix(msg)}`);
    }
    assertIsError(error, ErrorClass, msgIncludes, msg);
  }
  return error;
}
