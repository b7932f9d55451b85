// SPDX-License-Identifier: GPL-2.0-only
/**
 * Tests for the IA32_XSS MSR: port of
 * `tools/testing/selftests/kvm/x86/xss_msr_test.c`.
 *
 * Copyright (C) 2019, Google LLC.
 *
 * A line-for-line port.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  KVM_IOCTL_ERROR,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  TEST_REQUIRE,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_SET_MSRS } from "../include/linux/kvm.ts";
import {
  _vcpu_set_msr,
  kvm_cpu_has,
  kvm_msr_is_in_save_restore_list,
  MSR_IA32_XSS,
  vcpu_get_msr,
  vcpu_set_msr,
  X86_FEATURE_XSAVES,
} from "../include/x86/processor.ts";

const MSR_BITS = 64;

function main(): number {
  const vcpu = ref<kvm_vcpu>();

  // One vCPU is enough.
  const vm = vm_create_with_one_vcpu(vcpu, null);

  TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_XSAVES));

  const xss_val = vcpu_get_msr(vcpu.value, MSR_IA32_XSS);
  TEST_ASSERT(xss_val === 0n, "MSR_IA32_XSS should be initialized to zero");

  vcpu_set_msr(vcpu.value, MSR_IA32_XSS, xss_val);

  // Walk the XSS bits one at a time: a bit KVM does not support must make
  // the write fail, and any value KVM accepts implies IA32_XSS has to be in
  // the save/restore MSR list.
  const xss_in_msr_list = kvm_msr_is_in_save_restore_list(MSR_IA32_XSS);
  for (let i = 0; i < MSR_BITS; ++i) {
    const r = _vcpu_set_msr(vcpu.value, MSR_IA32_XSS, 1n << BigInt(i));

    // KVM_SET_MSRS reports how many entries it wrote, so with one entry
    // 0 means refused and 1 means accepted.
    TEST_ASSERT(!r || r === 1, KVM_IOCTL_ERROR(KVM_SET_MSRS, r));
    TEST_ASSERT(
      r !== 1 || xss_in_msr_list,
      "IA32_XSS was able to be set, but was not in save/restore list",
    );
  }

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
