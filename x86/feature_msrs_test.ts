// SPDX-License-Identifier: GPL-2.0-only
/**
 * Feature MSRs from `/dev/kvm` and their vCPU reset values: port of
 * `tools/testing/selftests/kvm/x86/feature_msrs_test.c`.
 *
 * Copyright (C) 2020, Red Hat, Inc.
 *
 * A line-for-line port. C's `host_cpu_is_intel` global is
 * `host_cpu_is_intel.value` (set when the first VM is created, which
 * `test_feature_msr` does before reading it).
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  kvm_check_cap,
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  TEST_REQUIRE,
  vm_create,
  vm_create_with_one_vcpu,
  vm_enable_cap,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import { KVM_CAP_DISABLE_QUIRKS2, KVM_CAP_GET_MSR_FEATURES } from "../include/linux/kvm.ts";
import { KVM_X86_QUIRK_STUFF_FEATURE_MSRS } from "../include/asm/kvm.ts";
import {
  host_cpu_is_intel,
  kvm_get_feature_msr,
  kvm_get_feature_msr_index_list,
  kvm_get_msr_index_list,
  MSR_AMD64_DE_CFG,
  MSR_IA32_UCODE_REV,
  MSR_IA32_VMX_CR0_FIXED1,
  MSR_IA32_VMX_CR4_FIXED1,
  MSR_IA32_VMX_ENTRY_CTLS,
  MSR_IA32_VMX_EXIT_CTLS,
  MSR_IA32_VMX_PINBASED_CTLS,
  MSR_IA32_VMX_PROCBASED_CTLS,
  vcpu_get_msr,
  vcpu_set_msr,
} from "../include/x86/processor.ts";

function is_kvm_controlled_msr(msr: number): boolean {
  return msr === MSR_IA32_VMX_CR0_FIXED1 || msr === MSR_IA32_VMX_CR4_FIXED1;
}

// These four VMX control MSRs are shadowed by a TRUE_* twin; KVM only accepts
// host writes through the TRUE_* index, so a write to this one would fail.
function is_hidden_vmx_msr(msr: number): boolean {
  switch (msr) {
    case MSR_IA32_VMX_PINBASED_CTLS:
    case MSR_IA32_VMX_PROCBASED_CTLS:
    case MSR_IA32_VMX_EXIT_CTLS:
    case MSR_IA32_VMX_ENTRY_CTLS:
      return true;
    default:
      return false;
  }
}

function is_quirked_msr(msr: number): boolean {
  return msr !== MSR_AMD64_DE_CFG;
}

function test_feature_msr(msr: number): void {
  const supported_mask = kvm_get_feature_msr(msr);
  let reset_value = is_quirked_msr(msr) ? supported_mask : 0n;
  const vcpu = ref<kvm_vcpu>();

  // KVM computes the CR0/CR4 FIXED1 values itself from the architecture,
  // so no reset value is an ABI promise; reading them above is the check.
  if (is_kvm_controlled_msr(msr)) return;

  // With KVM_X86_QUIRK_STUFF_FEATURE_MSRS in effect a new vCPU starts with
  // everything KVM supports in a quirked MSR; a non-quirked MSR (or any MSR
  // once the quirk is off) starts at zero and is left to the VMM to fill.
  let vm = vm_create_with_one_vcpu(vcpu, null);

  // The microcode revision is an exception: the feature MSR reports the
  // host's real revision, yet a new vCPU gets a fixed, vendor-specific
  // constant. (C reads host_cpu_is_intel, set before main; here it is set
  // once a VM exists.)
  if (msr === MSR_IA32_UCODE_REV) {
    reset_value = host_cpu_is_intel.value ? 0x100000000n : 0x01000065n;
  }

  TEST_ASSERT(
    vcpu_get_msr(vcpu.value, msr) === reset_value,
    "Wanted 0x%lx for %squirked MSR 0x%x, got 0x%lx",
    reset_value,
    is_quirked_msr(msr) ? "" : "non-",
    msr,
    vcpu_get_msr(vcpu.value, msr),
  );
  if (!is_hidden_vmx_msr(msr)) vcpu_set_msr(vcpu.value, msr, supported_mask);
  kvm_vm_free(vm);

  if (is_hidden_vmx_msr(msr)) return;

  if (
    !kvm_has_cap(KVM_CAP_DISABLE_QUIRKS2) ||
    !(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_STUFF_FEATURE_MSRS)
  ) {
    return;
  }

  vm = vm_create(1);
  vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_STUFF_FEATURE_MSRS);

  const v = vm_vcpu_add(vm, 0, null);
  TEST_ASSERT(
    !vcpu_get_msr(v, msr),
    "Quirk disabled, wanted '0' for MSR 0x%x, got 0x%lx",
    msr,
    vcpu_get_msr(v, msr),
  );
  kvm_vm_free(vm);
}

function main(): number {
  // Without KVM_CAP_GET_MSR_FEATURES there is nothing specific to check
  // here; the ordinary MSR list is exercised by other tests.
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_GET_MSR_FEATURES));

  kvm_get_msr_index_list();

  const feature_list = kvm_get_feature_msr_index_list();
  for (let i = 0; i < feature_list.nmsrs; i++) test_feature_msr(feature_list.indices.at(i));
  return 0;
}

await ksft_main(import.meta, main);
