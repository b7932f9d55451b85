// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { program_invocation_name } from "./elf.ts";

Deno.test("program_invocation_name names the calling test module, however deep the call", () => {
  assertEquals(program_invocation_name(), import.meta.url);
  const deep = (n: number): string => n === 0 ? program_invocation_name() : deep(n - 1);
  // Any frame of the test module names it, the innermost first.
  assertEquals(deep(40), import.meta.url);
});
