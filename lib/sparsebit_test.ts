// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import {
  sparsebit_alloc,
  sparsebit_clear,
  sparsebit_is_clear_num,
  sparsebit_is_set,
  sparsebit_is_set_num,
  sparsebit_next_clear_num,
  sparsebit_next_set,
  sparsebit_set_num,
} from "./sparsebit.ts";

Deno.test("a 64 GiB range of pages is one run, and clearing splits it", () => {
  const s = sparsebit_alloc();
  sparsebit_set_num(s, 2n, 16n << 20n);
  assertEquals(s.runs.length, 1);
  sparsebit_clear(s, 100n);
  assertEquals(s.runs.length, 2);
  assert(!sparsebit_is_set(s, 100n));
  assert(sparsebit_is_set_num(s, 2n, 98n));
  assert(!sparsebit_is_set_num(s, 2n, 99n));
});

Deno.test("next_set returns 0 when nothing follows, as C does", () => {
  const s = sparsebit_alloc();
  sparsebit_set_num(s, 10n, 5n);
  assertEquals(sparsebit_next_set(s, 3n), 10n);
  assertEquals(sparsebit_next_set(s, 12n), 13n);
  assertEquals(sparsebit_next_set(s, 14n), 0n);
});

Deno.test("next_clear_num finds the first gap big enough", () => {
  const s = sparsebit_alloc();
  sparsebit_set_num(s, 2n, 3n);
  sparsebit_set_num(s, 6n, 4n);
  assert(sparsebit_is_clear_num(s, 10n, 100n));
  assertEquals(sparsebit_next_clear_num(s, 1n, 2n), 10n);
  assertEquals(sparsebit_next_clear_num(s, 1n, 1n), 5n);
});
