// SPDX-License-Identifier: GPL-2.0-only
/**
 * VMX control MSR test: port of `tools/testing/selftests/kvm/x86/vmx_msrs_test.c`.
 *
 * Copyright (C) 2022 Google LLC.
 *
 * Some bits of the VMX entry/exit control MSRs are KVM's to manage: KVM
 * sets them itself unless KVM_X86_QUIRK_TWEAK_VMX_CTRL_MSRS is turned off.
 *
 * A line-for-line port; `for_each_set_bit()` / `for_each_clear_bit()` are
 * loops over the 64 bits. Neither the simulated host (no nested VMX) nor an
 * AMD host reports VMX, so there the program skips as upstream does.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  TEST_REQUIRE,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_CAP_DISABLE_QUIRKS2 } from "../include/linux/kvm.ts";
import {
  _vcpu_set_msr,
  FEAT_CTL_LMCE_ENABLED,
  FEAT_CTL_LOCKED,
  FEAT_CTL_SGX_ENABLED,
  FEAT_CTL_SGX_LC_ENABLED,
  FEAT_CTL_VMX_ENABLED_INSIDE_SMX,
  FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX,
  kvm_cpu_has,
  type kvm_x86_cpu_feature,
  MSR_IA32_FEAT_CTL,
  MSR_IA32_VMX_BASIC,
  MSR_IA32_VMX_EPT_VPID_CAP,
  MSR_IA32_VMX_MISC,
  MSR_IA32_VMX_PROCBASED_CTLS2,
  MSR_IA32_VMX_TRUE_ENTRY_CTLS,
  MSR_IA32_VMX_TRUE_EXIT_CTLS,
  MSR_IA32_VMX_TRUE_PINBASED_CTLS,
  MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
  MSR_IA32_VMX_VMCS_ENUM,
  MSR_IA32_VMX_VMFUNC,
  vcpu_clear_cpuid_feature,
  vcpu_get_msr,
  vcpu_set_cpuid_feature,
  vcpu_set_msr,
  X86_FEATURE_MCE,
  X86_FEATURE_SGX,
  X86_FEATURE_SGX_LC,
  X86_FEATURE_SMX,
  X86_FEATURE_VMX,
} from "../include/x86/processor.ts";

const BIT_ULL = (n: number | bigint): bigint => 1n << BigInt(n);
const GENMASK_ULL = (h: number, l: number): bigint => ((1n << BigInt(h - l + 1)) - 1n) << BigInt(l);
const U64_MAX = (1n << 64n) - 1n;

function vmx_fixed1_msr_test(vcpu: kvm_vcpu, msr_index: number, mask: bigint): void {
  const val = vcpu_get_msr(vcpu, msr_index);

  mask &= val;

  for (let bit = 0n; bit < 64n; bit++) {
    if (!(mask & BIT_ULL(bit))) continue;
    vcpu_set_msr(vcpu, msr_index, val & ~BIT_ULL(bit));
    vcpu_set_msr(vcpu, msr_index, val);
  }
}

function vmx_fixed0_msr_test(vcpu: kvm_vcpu, msr_index: number, mask: bigint): void {
  const val = vcpu_get_msr(vcpu, msr_index);

  mask = (~mask & U64_MAX) | val;

  for (let bit = 0n; bit < 64n; bit++) {
    if (mask & BIT_ULL(bit)) continue;
    vcpu_set_msr(vcpu, msr_index, val | BIT_ULL(bit));
    vcpu_set_msr(vcpu, msr_index, val);
  }
}

function vmx_fixed0and1_msr_test(vcpu: kvm_vcpu, msr_index: number): void {
  vmx_fixed0_msr_test(vcpu, msr_index, GENMASK_ULL(31, 0));
  vmx_fixed1_msr_test(vcpu, msr_index, GENMASK_ULL(63, 32));
}

function vmx_save_restore_msrs_test(vcpu: kvm_vcpu): void {
  vcpu_set_msr(vcpu, MSR_IA32_VMX_VMCS_ENUM, 0);
  vcpu_set_msr(vcpu, MSR_IA32_VMX_VMCS_ENUM, U64_MAX);

  vmx_fixed1_msr_test(vcpu, MSR_IA32_VMX_BASIC, BIT_ULL(49) | BIT_ULL(54) | BIT_ULL(55));

  vmx_fixed1_msr_test(
    vcpu,
    MSR_IA32_VMX_MISC,
    BIT_ULL(5) | GENMASK_ULL(8, 6) | BIT_ULL(14) | BIT_ULL(15) | BIT_ULL(28) | BIT_ULL(29) |
      BIT_ULL(30),
  );

  vmx_fixed0and1_msr_test(vcpu, MSR_IA32_VMX_PROCBASED_CTLS2);
  vmx_fixed1_msr_test(vcpu, MSR_IA32_VMX_EPT_VPID_CAP, U64_MAX);
  vmx_fixed0and1_msr_test(vcpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS);
  vmx_fixed0and1_msr_test(vcpu, MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
  vmx_fixed0and1_msr_test(vcpu, MSR_IA32_VMX_TRUE_EXIT_CTLS);
  vmx_fixed0and1_msr_test(vcpu, MSR_IA32_VMX_TRUE_ENTRY_CTLS);
  vmx_fixed1_msr_test(vcpu, MSR_IA32_VMX_VMFUNC, U64_MAX);
}

function __ia32_feature_control_msr_test(
  vcpu: kvm_vcpu,
  msr_bit: bigint,
  feature: kvm_x86_cpu_feature,
): void {
  vcpu_clear_cpuid_feature(vcpu, feature);

  const val = vcpu_get_msr(vcpu, MSR_IA32_FEAT_CTL);
  vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, val | msr_bit | FEAT_CTL_LOCKED);
  vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, (val & ~msr_bit) | FEAT_CTL_LOCKED);
  vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, val | msr_bit | FEAT_CTL_LOCKED);
  vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, (val & ~msr_bit) | FEAT_CTL_LOCKED);
  vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, val);

  if (!kvm_cpu_has(feature)) return;

  vcpu_set_cpuid_feature(vcpu, feature);
}

function ia32_feature_control_msr_test(vcpu: kvm_vcpu): void {
  const supported_bits = FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_INSIDE_SMX |
    FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX | FEAT_CTL_SGX_LC_ENABLED | FEAT_CTL_SGX_ENABLED |
    FEAT_CTL_LMCE_ENABLED;

  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_VMX_ENABLED_INSIDE_SMX, X86_FEATURE_SMX);
  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_VMX_ENABLED_INSIDE_SMX, X86_FEATURE_VMX);
  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX, X86_FEATURE_VMX);
  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_SGX_LC_ENABLED, X86_FEATURE_SGX_LC);
  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_SGX_LC_ENABLED, X86_FEATURE_SGX);
  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_SGX_ENABLED, X86_FEATURE_SGX);
  __ia32_feature_control_msr_test(vcpu, FEAT_CTL_LMCE_ENABLED, X86_FEATURE_MCE);

  for (let bit = 0; bit < 64; bit++) {
    if (supported_bits & BIT_ULL(bit)) continue;
    const r = _vcpu_set_msr(vcpu, MSR_IA32_FEAT_CTL, BIT_ULL(bit));
    TEST_ASSERT(r === 0, "Setting reserved bit %d in IA32_FEATURE_CONTROL should fail", bit);
  }
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();

  TEST_REQUIRE(kvm_has_cap(KVM_CAP_DISABLE_QUIRKS2));
  TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));

  // Only MSR ioctls are exercised; the vCPU never runs.
  const vm = vm_create_with_one_vcpu(vcpu, null);

  vmx_save_restore_msrs_test(vcpu.value);
  ia32_feature_control_msr_test(vcpu.value);

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
