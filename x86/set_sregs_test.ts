// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_SET_SREGS tests: port of `tools/testing/selftests/kvm/x86/set_sregs_test.c`.
 *
 * Copyright (C) 2018, Google LLC.
 *
 * Guards against the regression fixed in commit d3802286fa0f ("kvm: x86:
 * Disallow illegal IA32_APIC_BASE MSR values"): before it, userspace could
 * leave a vCPU's local APIC in an impossible state through KVM_SET_SREGS.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vm_vcpu_add,
  _vcpu_sregs_set,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  vcpu_sregs_get,
  vm_create_barebones,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import {
  EFER_AUTOIBRS,
  EFER_FFXSR,
  EFER_LMA,
  EFER_LME,
  EFER_NX,
  EFER_SCE,
  EFER_SVME,
  kvm_cpu_has,
  vcpu_cpuid_has,
  X86_CR0_CD,
  X86_CR0_NW,
  X86_CR0_PG,
  X86_CR4_DE,
  X86_CR4_FSGSBASE,
  X86_CR4_LA57,
  X86_CR4_MCE,
  X86_CR4_OSFXSR,
  X86_CR4_OSXMMEXCPT,
  X86_CR4_OSXSAVE,
  X86_CR4_PAE,
  X86_CR4_PCE,
  X86_CR4_PCIDE,
  X86_CR4_PGE,
  X86_CR4_PKE,
  X86_CR4_PSE,
  X86_CR4_PVI,
  X86_CR4_SMAP,
  X86_CR4_SMEP,
  X86_CR4_SMXE,
  X86_CR4_TSD,
  X86_CR4_UMIP,
  X86_CR4_VME,
  X86_CR4_VMXE,
  X86_FEATURE_AUTOIBRS,
  X86_FEATURE_FSGSBASE,
  X86_FEATURE_FXSR_OPT,
  X86_FEATURE_LA57,
  X86_FEATURE_LM,
  X86_FEATURE_NX,
  X86_FEATURE_OSPKE,
  X86_FEATURE_OSXSAVE,
  X86_FEATURE_PCID,
  X86_FEATURE_PKU,
  X86_FEATURE_SMAP,
  X86_FEATURE_SMEP,
  X86_FEATURE_SMX,
  X86_FEATURE_SVM,
  X86_FEATURE_UMIP,
  X86_FEATURE_VMX,
  X86_FEATURE_XSAVE,
} from "../include/x86/processor.ts";
import { kvm_sregs } from "../include/asm/kvm.ts";
import type { View } from "../include/c/layout.ts";

type sregs_t = View<typeof kvm_sregs.fields>;
type sreg = "cr0" | "cr4" | "efer";

/**
 * C `TEST_INVALID_SREG_BIT(vcpu, reg, orig, bit)`: setting `bit` in `reg`
 * must fail and leave every register as it was. Skipped when the bit is
 * already set (the feature is supported).
 */
function TEST_INVALID_SREG_BIT(vcpu: kvm_vcpu, reg: sreg, orig: sregs_t, bit: bigint): void {
  if (orig[reg] & bit) return;
  const n = kvm_sregs.alloc();
  n.$bytes.set(orig.$bytes);
  n[reg] |= bit;
  const rc = _vcpu_sregs_set(vcpu, n);
  TEST_ASSERT(rc, `KVM allowed invalid ${reg} bit (0x%lx)`, bit);
  // A refused KVM_SET_SREGS must be all-or-nothing.
  vcpu_sregs_get(vcpu, n);
  TEST_ASSERT(n.$bytes.every((b, i) => b === orig.$bytes[i]), "KVM modified sregs");
}

const KVM_ALWAYS_ALLOWED_CR4 = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
  X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
  X86_CR4_OSXMMEXCPT;

const KVM_ALWAYS_ALLOWED_EFER = EFER_SCE;

function calc_supported_cr4_feature_bits(): bigint {
  let cr4 = KVM_ALWAYS_ALLOWED_CR4;
  if (kvm_cpu_has(X86_FEATURE_UMIP)) cr4 |= X86_CR4_UMIP;
  if (kvm_cpu_has(X86_FEATURE_LA57)) cr4 |= X86_CR4_LA57;
  if (kvm_cpu_has(X86_FEATURE_VMX)) cr4 |= X86_CR4_VMXE;
  if (kvm_cpu_has(X86_FEATURE_SMX)) cr4 |= X86_CR4_SMXE;
  if (kvm_cpu_has(X86_FEATURE_FSGSBASE)) cr4 |= X86_CR4_FSGSBASE;
  if (kvm_cpu_has(X86_FEATURE_PCID)) cr4 |= X86_CR4_PCIDE;
  if (kvm_cpu_has(X86_FEATURE_XSAVE)) cr4 |= X86_CR4_OSXSAVE;
  if (kvm_cpu_has(X86_FEATURE_SMEP)) cr4 |= X86_CR4_SMEP;
  if (kvm_cpu_has(X86_FEATURE_SMAP)) cr4 |= X86_CR4_SMAP;
  if (kvm_cpu_has(X86_FEATURE_PKU)) cr4 |= X86_CR4_PKE;
  return cr4;
}

function calc_supported_efer_feature_bits(): bigint {
  let efer = KVM_ALWAYS_ALLOWED_EFER;
  if (kvm_cpu_has(X86_FEATURE_LM)) efer |= EFER_LME | EFER_LMA;
  if (kvm_cpu_has(X86_FEATURE_NX)) efer |= EFER_NX;
  if (kvm_cpu_has(X86_FEATURE_SVM)) efer |= EFER_SVME;
  if (kvm_cpu_has(X86_FEATURE_FXSR_OPT)) efer |= EFER_FFXSR;
  if (kvm_cpu_has(X86_FEATURE_AUTOIBRS)) efer |= EFER_AUTOIBRS;
  return efer;
}

function test_cr_bits(vcpu: kvm_vcpu, cr4: bigint): void {
  const sregs = kvm_sregs.alloc();
  vcpu_sregs_get(vcpu, sregs);
  sregs.cr0 &= ~(X86_CR0_CD | X86_CR0_NW);
  sregs.cr4 |= cr4;
  const rc = _vcpu_sregs_set(vcpu, sregs);
  TEST_ASSERT(!rc, "Failed to set supported CR4 bits (0x%lx)", cr4);

  TEST_ASSERT(
    !!(sregs.cr4 & X86_CR4_OSXSAVE) ===
      (vcpu.cpuid !== null && vcpu_cpuid_has(vcpu, X86_FEATURE_OSXSAVE)),
    "KVM didn't %s OSXSAVE in CPUID as expected",
    (sregs.cr4 & X86_CR4_OSXSAVE) ? "set" : "clear",
  );
  TEST_ASSERT(
    !!(sregs.cr4 & X86_CR4_PKE) ===
      (vcpu.cpuid !== null && vcpu_cpuid_has(vcpu, X86_FEATURE_OSPKE)),
    "KVM didn't %s OSPKE in CPUID as expected",
    (sregs.cr4 & X86_CR4_PKE) ? "set" : "clear",
  );

  vcpu_sregs_get(vcpu, sregs);
  TEST_ASSERT_EQ(sregs.cr4, cr4);

  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_UMIP);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_LA57);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_VMXE);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_SMXE);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_FSGSBASE);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_PCIDE);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_OSXSAVE);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_SMEP);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_SMAP);
  TEST_INVALID_SREG_BIT(vcpu, "cr4", sregs, X86_CR4_PKE);

  for (let i = 32n; i < 64n; i++) TEST_INVALID_SREG_BIT(vcpu, "cr0", sregs, 1n << i);

  // CR0 combinations the architecture forbids: NW=1 with CD=0, PG=1 with
  // PE=0.
  TEST_INVALID_SREG_BIT(vcpu, "cr0", sregs, X86_CR0_NW);
  TEST_INVALID_SREG_BIT(vcpu, "cr0", sregs, X86_CR0_PG);
}

function test_efer_bits(vcpu: kvm_vcpu, efer: bigint): void {
  const sregs = kvm_sregs.alloc();
  vcpu_sregs_get(vcpu, sregs);
  sregs.efer |= efer;
  const rc = _vcpu_sregs_set(vcpu, sregs);
  TEST_ASSERT(!rc, "Failed to set supported EFER bits (0x%llx)", sregs.efer);

  vcpu_sregs_get(vcpu, sregs);
  TEST_ASSERT_EQ(sregs.efer, efer);

  TEST_INVALID_SREG_BIT(vcpu, "efer", sregs, EFER_LME);
  TEST_INVALID_SREG_BIT(vcpu, "efer", sregs, EFER_NX);
  TEST_INVALID_SREG_BIT(vcpu, "efer", sregs, EFER_SVME);
  TEST_INVALID_SREG_BIT(vcpu, "efer", sregs, EFER_FFXSR);
  TEST_INVALID_SREG_BIT(vcpu, "efer", sregs, EFER_AUTOIBRS);
}

function main(): number {
  const sregs = kvm_sregs.alloc();
  const vcpu = ref<kvm_vcpu>();
  let vm: kvm_vm;

  // A bare VM that never sees KVM_SET_CPUID2: KVM's CR4 checks must hold
  // against its default (empty) guest CPUID too.
  vm = vm_create_barebones();
  vcpu.value = __vm_vcpu_add(vm, 0);
  test_efer_bits(vcpu.value, KVM_ALWAYS_ALLOWED_EFER);
  test_cr_bits(vcpu.value, KVM_ALWAYS_ALLOWED_CR4);
  kvm_vm_free(vm);

  // With the full supported CPUID in place, every CR4 bit KVM supports and
  // the APIC base must be accepted.
  vm = vm_create_with_one_vcpu(vcpu, null);

  vcpu_sregs_get(vcpu.value, sregs);
  sregs.apic_base = 1n << 10n;
  let rc = _vcpu_sregs_set(vcpu.value, sregs);
  TEST_ASSERT(rc, "Set IA32_APIC_BASE to %llx (invalid)", sregs.apic_base);
  sregs.apic_base = 1n << 11n;
  rc = _vcpu_sregs_set(vcpu.value, sregs);
  TEST_ASSERT(!rc, "Couldn't set IA32_APIC_BASE to %llx (valid)", sregs.apic_base);

  test_cr_bits(vcpu.value, calc_supported_cr4_feature_bits());
  test_efer_bits(vcpu.value, calc_supported_efer_feature_bits());

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
