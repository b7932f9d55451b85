// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `fail` and `unreachable`.
import { AssertionError, assertThrows, fail, unreachable } from "./mod.ts";

Deno.test("fail() always throws 'Failed assertion' with the optional message", () => {
  assertThrows(() => fail(), AssertionError, "Failed assertion.");
  assertThrows(() => fail("why"), AssertionError, "Failed assertion: why");
});

Deno.test("unreachable() always throws 'Unreachable' with the optional message", () => {
  assertThrows(() => unreachable(), AssertionError, "Unreachable.");
  assertThrows(() => unreachable("here"), AssertionError, "Unreachable: here");
});
