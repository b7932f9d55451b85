// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `AssertionError`.
import { assertEquals, assertInstanceOf, AssertionError } from "./mod.ts";

Deno.test("AssertionError is an Error named AssertionError that keeps its cause", () => {
  const error = new AssertionError("boom", { cause: "why" });
  assertInstanceOf(error, Error);
  assertEquals([error.name, error.message, error.cause], ["AssertionError", "boom", "why"]);
});
