// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assert`.
import { assert, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assert() passes for truthy values and narrows the type", () => {
  const value: string | undefined = "x" as string | undefined;
  assert(value);
  assertThrows(() => assert(value.length === 0), AssertionError);
});

Deno.test("assert() throws an AssertionError with the given (or empty) message", () => {
  const error = assertThrows(() => assert(0, "zero is falsy"), AssertionError);
  assert(error.message === "zero is falsy");
  assert(assertThrows(() => assert(""), AssertionError).message === "");
});
