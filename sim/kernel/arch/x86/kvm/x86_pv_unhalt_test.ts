// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_SET_CPUID2 clears PV_UNHALT from the KVM features leaf when HLT exits
 * are disabled and the table carries KVM's signature
 * (kvm_apply_cpuid_pv_features_quirk()); without the signature, or with HLT
 * exiting, the bit stays as userspace set it.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  kvm_vm_free,
  vm_create,
  vm_enable_cap,
  vm_vcpu_add,
} from "../../../../../include/kvm_util.ts";
import {
  KVM_CAP_X86_DISABLE_EXITS,
  KVM_X86_DISABLE_EXITS_HLT,
} from "../../../../../include/linux/kvm.ts";
import { KVM_CPUID_SIGNATURE } from "../../../../../include/linux/kvm_para.ts";
import {
  vcpu_cpuid_has,
  vcpu_get_cpuid_entry,
  vcpu_set_cpuid,
  vcpu_set_cpuid_feature,
  X86_FEATURE_KVM_PV_UNHALT,
} from "../../../../../include/x86/processor.ts";

Deno.test("PV_UNHALT is cleared by KVM_SET_CPUID2 only with HLT exits disabled and KVM's signature", () => {
  for (const hlt_in_guest of [false, true]) {
    const vm = vm_create(1);
    try {
      if (hlt_in_guest) vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT);
      const v = vm_vcpu_add(vm, 0, null);
      vcpu_set_cpuid_feature(v, X86_FEATURE_KVM_PV_UNHALT);
      assertEquals(vcpu_cpuid_has(v, X86_FEATURE_KVM_PV_UNHALT), !hlt_in_guest);
      // A bogus signature hides the KVM leaves: the bit is left alone.
      const ent = vcpu_get_cpuid_entry(v, KVM_CPUID_SIGNATURE);
      const sig = ent.ebx;
      ent.ebx = 0xdeadbeef;
      vcpu_set_cpuid(v);
      vcpu_set_cpuid_feature(v, X86_FEATURE_KVM_PV_UNHALT);
      assertEquals(vcpu_cpuid_has(v, X86_FEATURE_KVM_PV_UNHALT), true);
      vcpu_get_cpuid_entry(v, KVM_CPUID_SIGNATURE).ebx = sig;
      vcpu_set_cpuid(v);
      assertEquals(vcpu_cpuid_has(v, X86_FEATURE_KVM_PV_UNHALT), !hlt_in_guest);
    } finally {
      kvm_vm_free(vm);
    }
  }
});

Deno.test("KVM's leaves are found at the bases below 0x40010000 only (for_each_possible_cpuid_base_hypervisor)", () => {
  const PV_UNHALT = 1 << 7; // KVM_FEATURE_PV_UNHALT in the features leaf's EAX
  for (const [base, found] of [[0x4000ff00, true], [0x40010000, false]] as const) {
    const vm = vm_create(1);
    try {
      vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT);
      const v = vm_vcpu_add(vm, 0, null);
      const sig = vcpu_get_cpuid_entry(v, KVM_CPUID_SIGNATURE);
      const features = vcpu_get_cpuid_entry(v, KVM_CPUID_SIGNATURE + 1);
      sig.function = base;
      sig.eax = base + 1;
      features.function = base + 1;
      features.eax |= PV_UNHALT;
      vcpu_set_cpuid(v);
      const bit = (vcpu_get_cpuid_entry(v, base + 1).eax & PV_UNHALT) !== 0;
      assertEquals(bit, !found, `signature at 0x${base.toString(16)}`);
    } finally {
      kvm_vm_free(vm);
    }
  }
});
