// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as std; specs for `assertMatch`.
import { AssertionError, assertMatch, assertThrows } from "./mod.ts";

Deno.test("assertMatch() passes when the RegExp matches and quotes both otherwise", () => {
  assertMatch("Raptor", /apt/);
  assertThrows(
    () => assertMatch("Denosaurus", /Raptor/),
    AssertionError,
    'Expected actual: "Denosaurus" to match: "/Raptor/".',
  );
});
