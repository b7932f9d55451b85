// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertRejects`.
import { assertEquals, AssertionError, assertRejects, assertStrictEquals } from "./mod.ts";

Deno.test("assertRejects() resolves to the rejection reason", async () => {
  const reason = await assertRejects(() => Promise.reject(42));
  assertStrictEquals(reason, 42);
});

Deno.test("assertRejects() with an error class checks it and returns the typed error", async () => {
  const error: TypeError = await assertRejects(
    () => Promise.reject(new TypeError("nope")),
    TypeError,
    "no",
  );
  assertEquals(error.message, "nope");
  await assertRejects(
    () => assertRejects(() => Promise.reject(new TypeError("nope")), RangeError),
    AssertionError,
    'Expected error to be instance of "RangeError", but was "TypeError".',
  );
  await assertRejects(
    () => assertRejects(() => Promise.reject("text"), Error),
    AssertionError,
    "A non-Error object was rejected.",
  );
});

Deno.test("assertRejects() fails on resolution or on a synchronous throw", async () => {
  await assertRejects(
    () => assertRejects(() => Promise.resolve()),
    AssertionError,
    "Expected function to reject.",
  );
  await assertRejects(
    () =>
      assertRejects((): Promise<void> => {
        throw new Error("sync");
      }, "ctx"),
    AssertionError,
    "Function throws when expected to reject: ctx",
  );
});
