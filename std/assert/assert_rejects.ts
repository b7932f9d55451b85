// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API and messages as its `assertRejects`.
import { AssertionError } from "./assertion_error.ts";
import { assertIsError } from "./assert_is_error.ts";
import { isErrorClass, suffix } from "./_internal.ts";

// deno-lint-ignore no-explicit-any
type ErrorCtor<E> = abstract new (...args: any[]) => E;

/**
 * Executes a function which returns a promise, expecting it to reject.
 *
 * To assert that a synchronous function throws, use {@linkcode assertThrows}.
 *
 * @example Usage
 * ```ts ignore
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(async () => Promise.reject(new Error())); // Doesn't throw
 * await assertRejects(async () => console.log("Hello world")); // Throws
 * ```
 *
 * @param fn The function to execute.
 * @param msg The optional message to display if the assertion fails.
 * @returns The promise which resolves to the thrown error.
 */
export function assertRejects(fn: () => PromiseLike<unknown>, msg?: string): Promise<unknown>;
/**
 * Executes a function which returns a promise, expecting it to reject.
 * If it does not, then it throws. An error class and a string that should be
 * included in the error message can also be asserted.
 *
 * To assert that a synchronous function throws, use {@linkcode assertThrows}.
 *
 * @example Usage
 * ```ts ignore
 * import { assertRejects } from "@std/assert";
 *
 * await assertRejects(async () => Promise.reject(new Error()), Error); // Doesn't throw
 * await assertRejects(async () => Promise.reject(new Error()), SyntaxError); // Throws
 * ```
 *
 * @typeParam E The error class to assert.
 * @param fn The function to execute.
 * @param ErrorClass The error class to assert.
 * @param msgIncludes The string that should be included in the error message.
 * @param msg The optional message to display if the assertion fails.
 * @returns The promise which resolves to the thrown error.
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
  errorClassOrMsg?: ErrorCtor<E> | string,
  msgIncludesOrMsg?: string,
  msg?: string,
): Promise<E | Error | unknown> {
  let ErrorClass: ErrorCtor<E> | undefined;
  let msgIncludes: string | undefined;
  if (typeof errorClassOrMsg === "string") {
    msg = errorClassOrMsg;
  } else if (errorClassOrMsg === undefined || isErrorClass(errorClassOrMsg)) {
    ErrorClass = errorClassOrMsg;
    msgIncludes = msgIncludesOrMsg;
  }
  let returned: unknown;
  try {
    returned = fn();
  } catch {
    returned = undefined;
  }
  if (
    returned === null || typeof returned !== "object" ||
    typeof (returned as PromiseLike<unknown>).then !== "function"
  ) {
    throw new AssertionError(`Function throws when expected to reject${suffix(msg)}`);
  }
  let rejected = false;
  let error: unknown;
  try {
    await returned;
  } catch (e) {
    rejected = true;
    error = e;
  }
  if (!rejected) throw new AssertionError(`Expected function to reject${suffix(msg)}`);
  if (ErrorClass) {
    if (!(error instanceof Error)) {
      throw new AssertionError(`A non-Error object was rejected${suffix(msg)}`);
    }
    assertIsError(error, ErrorClass, msgIncludes, msg);
  }
  return error;
}
