// SPDX-License-Identifier: GPL-2.0-only
// A test module of the same `deno test` run that does not pin (run by sim/use_sim_backend_test.ts).
import { assertEquals } from "@std/assert";
import { backend, selected_backend_name } from "../../include/libc/backend.ts";
import "../../include/libc/syscall.ts";

Deno.test("unpinned: the backend the environment selects", () => {
  assertEquals(backend().name, selected_backend_name());
});
