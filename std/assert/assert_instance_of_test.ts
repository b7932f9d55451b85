// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertInstanceOf`.
import { assertInstanceOf, AssertionError, assertThrows } from "./mod.ts";

Deno.test("assertInstanceOf() passes for instances and narrows the type", () => {
  const value: unknown = new Date(0);
  assertInstanceOf(value, Date);
  value.getTime();
});

Deno.test("assertInstanceOf() names the expected and actual types", () => {
  assertThrows(
    () => assertInstanceOf(new Date(), Map),
    AssertionError,
    'Expected object to be an instance of "Map" but was "Date".',
  );
  assertThrows(
    () => assertInstanceOf(5, Number),
    AssertionError,
    'instance of "Number" but was "number".',
  );
  assertThrows(() => assertInstanceOf(null, Object), AssertionError, 'but was "null".');
  assertThrows(
    () => assertInstanceOf(() => {}, Date),
    AssertionError,
    'instance of "Date" but was not an instanced object.',
  );
  assertThrows(
    () => assertInstanceOf(Object.create(null), Date, "ctx"),
    AssertionError,
    'instance of "Date" but was "Object": ctx',
  );
});
