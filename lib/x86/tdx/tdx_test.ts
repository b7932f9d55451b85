// SPDX-License-Identifier: GPL-2.0-only
/**
 * Tests of `lib/x86/tdx/tdcall.ts` and `lib/x86/tdx/tdx.ts`, through TDs that use them.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "@std/assert";

Deno.test("TDCALL wrappers keep the calling conventions; KVM's CPUID of a TD ignores the TD's CR4", async () => {
  const prog = new URL("./testdata/td_tdcalls.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", prog.pathname],
    env: { KVM_SELFTESTS_BACKEND: "sim" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stdout + stderr);
  assertStringIncludes(stdout, "ok 1 global.hypercall_output\n");
  assertStringIncludes(stdout, "ok 2 global.rtmr_extend_and_report\n");
  assertStringIncludes(stdout, "ok 3 global.module_call_errors\n");
  assertStringIncludes(stdout, "ok 4 global.kvm_cpuid_of_a_td_ignores_its_cr4\n");
  assertStringIncludes(stdout, "# PASSED: 4 / 4 tests passed.\n");
});

Deno.test("every GHCI TDVMCALL leaf has a helper: KVM's refusals, userspace exits, module refusals", async () => {
  const prog = new URL("./testdata/td_ghci_leaves.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", prog.pathname],
    env: { KVM_SELFTESTS_BACKEND: "sim" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stdout + stderr);
  assertStringIncludes(stdout, "ok 1 global.invalid_arguments\n");
  assertStringIncludes(stdout, "ok 2 global.get_quote\n");
  assertStringIncludes(stdout, "ok 3 global.setup_event_notify_interrupt\n");
  assertStringIncludes(stdout, "ok 4 global.get_td_vmcall_info_leaf1\n");
  assertStringIncludes(stdout, "# PASSED: 4 / 4 tests passed.\n");
});
