// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/x86/tdx_vm_test.c` (the TDX selftest
 * series, v13): the lifecycle of a TD, from creation through the boot code
 * at the reset vector to a ucall over TDVMCALL MMIO.
 *
 * @module
 */

import { ksft_main, TEST, test_harness_run } from "../include/kselftest_harness.ts";
import {
  get_ucall,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  UCALL_DONE,
  ucall_struct,
  vcpu_run,
  vm_create_shape_with_one_vcpu,
} from "../include/kvm_util.ts";
import { VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { is_tdx_supported } from "../include/x86/tdx/tdx_util.ts";

/** Guest entry point. */
export function guest_code_lifecycle(): void {
  GUEST_DONE();
}

TEST("verify_td_lifecycle", () => {
  const vcpu = ref<kvm_vcpu>();
  const uc = ucall_struct.alloc();

  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_code_lifecycle);

  vcpu_run(vcpu.value);
  TEST_ASSERT_EQ(get_ucall(vcpu.value, uc), UCALL_DONE);

  kvm_vm_free(vm);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());

  return test_harness_run(argc, argv);
}

ksft_main(import.meta, main);
