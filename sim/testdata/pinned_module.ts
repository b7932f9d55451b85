// SPDX-License-Identifier: GPL-2.0-only
// A test module that pins the simulator (run by sim/use_sim_backend_test.ts).
import "../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { backend } from "../../include/libc/backend.ts";
import { open } from "../../include/libc/syscall.ts";
import { O_RDWR } from "../../include/linux/fcntl.ts";

Deno.test("pinned: the sim backend, whatever the environment selects", () => {
  assertEquals(backend().name, "sim");
  // The simulated /dev/kvm opens for anyone: the call reached the simulator.
  assertEquals(open("/dev/kvm", O_RDWR) >= 0, true);
});
