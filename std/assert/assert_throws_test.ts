// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertThrows`.
import { assertEquals, AssertionError, assertStrictEquals, assertThrows } from "./mod.ts";

Deno.test("assertThrows() returns whatever the function threw", () => {
  const thrown = assertThrows(() => {
    throw "plain string";
  });
  assertStrictEquals(thrown, "plain string");
});

Deno.test("assertThrows() with an error class checks it and returns the typed error", () => {
  const error: TypeError = assertThrows(
    () => {
      throw new TypeError("bad input");
    },
    TypeError,
    "bad",
  );
  assertEquals(error.message, "bad input");
  assertThrows(
    () =>
      assertThrows(() => {
        throw new TypeError("bad input");
      }, RangeError),
    AssertionError,
    'Expected error to be instance of "RangeError", but was "TypeError".',
  );
  assertThrows(
    () =>
      assertThrows(() => {
        throw "text";
      }, Error),
    AssertionError,
    "A non-Error object was thrown.",
  );
});

Deno.test("assertThrows() fails when nothing is thrown, with the optional message", () => {
  assertThrows(() => assertThrows(() => {}), AssertionError, "Expected function to throw.");
  assertThrows(
    () => assertThrows(() => {}, "ctx"),
    AssertionError,
    "Expected function to throw: ctx",
  );
  assertThrows(
    () => assertThrows(() => {}, Error, "inc", "ctx"),
    AssertionError,
    "Expected function to throw: ctx",
  );
});
