// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertIsError`.
import { AssertionError, assertIsError, assertThrows } from "./mod.ts";

Deno.test("assertIsError() checks the class and the message (string or RegExp)", () => {
  const error: unknown = new RangeError("Out of range: 5");
  assertIsError(error, RangeError, "Out of range");
  assertIsError(error, Error, /range: \d/);
  assertIsError(new Error("\x1b[31mred\x1b[39m text"), Error, "red text");
});

Deno.test("assertIsError() messages name what was expected", () => {
  assertThrows(() => assertIsError("x"), AssertionError, 'Expected "error" to be an Error object.');
  assertThrows(
    () => assertIsError(new RangeError("a"), TypeError),
    AssertionError,
    'Expected error to be instance of "TypeError", but was "RangeError".',
  );
  assertThrows(
    () => assertIsError(new Error("abc"), Error, "xyz"),
    AssertionError,
    'Expected error message to include "xyz", but got "abc".',
  );
  assertThrows(
    () => assertIsError(new Error("abc"), Error, /x/, "ctx"),
    AssertionError,
    'Expected error message to include /x/, but got "abc": ctx',
  );
});
