// SPDX-License-Identifier: GPL-2.0-only
/**
 * A program that does what upstream's library cannot do on a TD: pass
 * arguments with `vcpu_args_set()`, which reads the registers with
 * KVM_GET_REGS. A TD's registers are protected, so KVM fails the ioctl with
 * EINVAL and the library's assertion ends the program with 254.
 *
 * @module
 */

import { ksft_main } from "../../../../include/kselftest_harness.ts";
import {
  GUEST_DONE,
  type kvm_vcpu,
  ref,
  TEST_REQUIRE,
  vm_create_shape_with_one_vcpu,
} from "../../../../include/kvm_util.ts";
import { vcpu_args_set, VM_SHAPE_TDX } from "../../../../include/x86/processor.ts";
import { is_tdx_supported } from "../../../../include/x86/tdx/tdx_util.ts";

/** Guest entry point (never reached). */
export function guest_code(): void {
  GUEST_DONE();
}

function main(): number {
  TEST_REQUIRE(is_tdx_supported());
  const vcpu = ref<kvm_vcpu>();
  vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_code);
  vcpu_args_set(vcpu.value, 1, 42);
  return 0;
}

await ksft_main(import.meta, main);
