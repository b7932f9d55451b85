// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { expected_host_failure, kernel_version } from "./known_host_failures.ts";

const OUT = "==== Test Assertion Failure ====\n  KVM allowed invalid efer bit (0x100)\n";

Deno.test("kernel_version() reads major.minor from uname -r", () => {
  assertEquals(kernel_version("6.18.44-fc-v769"), [6, 18]);
  assertEquals(kernel_version("7.0.0-rc1"), [7, 0]);
  assertEquals(kernel_version(""), null);
});

Deno.test("an expected failure matches program, backend, message and kernel only", () => {
  const k = expected_host_failure("./set_sregs_test", "kvm", OUT, "6.18.44-fc");
  assertEquals(k?.program, "set_sregs_test");
  assertEquals(
    expected_host_failure("set_sregs_test.ts", "kvm", OUT, "5.15.0")?.program,
    k?.program,
  );
  // The simulator follows the newer kernel: there it is a failure.
  assertEquals(expected_host_failure("set_sregs_test", "sim", OUT, "6.18.44"), undefined);
  // Any other assertion of the same program is a failure.
  assertEquals(
    expected_host_failure("set_sregs_test", "kvm", "KVM modified sregs", "6.18.44"),
    undefined,
  );
  // A kernel newer than the last one known to differ must pass.
  assertEquals(expected_host_failure("set_sregs_test", "kvm", OUT, "6.19.0"), undefined);
  assertEquals(expected_host_failure("set_sregs_test", "kvm", OUT, "7.0.0"), undefined);
  assertEquals(expected_host_failure("set_sregs_test", "kvm", OUT, "unknown"), undefined);
  assertEquals(expected_host_failure("cpuid_test", "kvm", OUT, "6.18.44"), undefined);
});
