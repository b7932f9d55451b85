// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertStringIncludes } from "@std/assert";

Deno.test("vcpu_args_set() on a TD fails as upstream's does: KVM_GET_REGS EINVAL, exit 254", async () => {
  const prog = new URL("./testdata/td_vcpu_args_set.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", prog.pathname],
    env: { KVM_SELFTESTS_BACKEND: "sim" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 254, stderr);
  assertStringIncludes(stderr, "==== Test Assertion Failure ====");
  assertStringIncludes(stderr, "KVM_GET_REGS failed, rc: -1 errno: 22 (Invalid argument)");
});
