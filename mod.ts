// SPDX-License-Identifier: GPL-2.0-only
/**
 * A Deno SDK for Linux KVM selftests: the `tools/testing/selftests/kvm`
 * library in TypeScript, with the kselftest harness, the byte-exact KVM uAPI,
 * and an embedded simulated KVM + Intel TDX machine as the default backend.
 *
 * A test ports from C almost line for line:
 *
 * ```ts ignore
 * import { TEST, TEST_ASSERT_EQ, TEST_HARNESS_MAIN } from "@kvm-selftests/sdk";
 *
 * TEST("answer", () => {
 *   TEST_ASSERT_EQ(6 * 7, 42);
 * });
 *
 * await TEST_HARNESS_MAIN(import.meta);
 * ```
 *
 * The backend is chosen by `KVM_SELFTESTS_BACKEND` (`sim`, the default, or
 * `kvm`); see `docs/` for the porting guide and the simulator's fidelity.
 *
 * @module
 */

export * from "./include/c/layout.ts";
export * from "./include/linux/ioctl.ts";
export * from "./include/linux/errno.ts";
export * from "./include/linux/kvm.ts";
export * from "./include/linux/kvm_para.ts";
export * from "./include/linux/mman.ts";
export * from "./include/linux/fcntl.ts";
export * from "./include/linux/falloc.ts";
export * from "./include/libc/syscall.ts";
export { errno_get, errno_set } from "./include/libc/errno.ts";
export { exit, ExitError } from "./include/libc/exit.ts";
export * from "./include/kselftest.ts";
export * from "./include/kselftest_harness.ts";
export * from "./include/test_util.ts";
export * from "./include/linux/resource.ts";
export * from "./include/kvm_util.ts";
// C keeps struct tags apart from functions; here the helpers take the names
// (the structs stay in include/linux/kvm.ts).
export { kvm_create_device, kvm_irqfd } from "./include/kvm_util.ts";
export * from "./include/x86/processor.ts";
export * from "./include/x86/flds_emulation.ts";
export * from "./include/x86/sev.ts";
export * from "./include/x86/tdx/td_boot.ts";
// Machine code for guests and boot code, written like GNU as AT&T source.
export {
  type asm_line,
  type asm_object,
  type asm_value,
  AsmCore,
  AsmError,
  type AsmInsns,
  type Assembler,
  assembler,
  type assembler_options,
  type code_mode,
  type condition,
  CONDITIONS,
  type mnemonic,
  PLAIN_MNEMONICS,
  SIZED_MNEMONICS,
} from "./lib/x86/asm/assembler.ts";
