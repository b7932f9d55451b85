// SPDX-License-Identifier: GPL-2.0-only
/**
 * Tests of `lib/x86/tdx/test_util.ts`: what the host sees of a TD's failure.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "@std/assert";

/** Runs `testdata/td_fatal.ts <which>` on the simulator: exit code and stderr. */
async function td_fatal(which: string): Promise<{ code: number; stderr: string }> {
  const prog = new URL("./testdata/td_fatal.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", prog.pathname, which],
    env: { KVM_SELFTESTS_BACKEND: "sim" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("a refused TDVMCALL reaches the host as KVM's status: IO of 5 bytes is INVALID_OPERAND", async () => {
  const { code, stderr } = await td_fatal("io5");
  assertEquals(code, 254, stderr);
  assertStringIncludes(stderr, "==== Test Assertion Failure ====");
  // tdx_assert_error() reports TDVMCALL_STATUS_INVALID_OPERAND (bit 63 alone) as the code.
  assertStringIncludes(stderr, "Guest reported error. error code: -9223372036854775808 (0x0)\n");
});

Deno.test("tdx_run() shows the guest's tdx_test_fatal() code and data GPA; exit 254", async () => {
  const { code, stderr } = await td_fatal("code");
  assertEquals(code, 254, stderr);
  // 0x0123456700000000 with bit 63 set, as ReportFatalError has it with a data GPA.
  assertStringIncludes(stderr, "Guest reported error. error code: -9141386509948026880 (0x4000)\n");
});

Deno.test("tdx_test_assert_io() prints the exit it got, as upstream's message", async () => {
  const { code, stderr } = await td_fatal("assert_io");
  assertEquals(code, 254, stderr);
  // tdx_test_success() is a 4-byte OUT to port 0x30; the host wanted an IN.
  assertStringIncludes(stderr, "Got unexpected IO exit values: 2 (IO) 48 4 1\n");
});
