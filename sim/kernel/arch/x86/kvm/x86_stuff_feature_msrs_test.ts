// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_X86_QUIRK_STUFF_FEATURE_MSRS: with the quirk (the default) a new
 * vCPU's feature MSRs hold KVM's configuration; with it disabled they start
 * at 0 (kvm_arch_vcpu_create(), __vmx_vcpu_reset()).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals, assertNotEquals } from "@std/assert";
import {
  kvm_vm_free,
  vm_create,
  vm_enable_cap,
  vm_vcpu_add,
} from "../../../../../include/kvm_util.ts";
import { KVM_CAP_DISABLE_QUIRKS2 } from "../../../../../include/linux/kvm.ts";
import { KVM_X86_QUIRK_STUFF_FEATURE_MSRS } from "../../../../../include/asm/kvm.ts";
import {
  MSR_IA32_ARCH_CAPABILITIES,
  MSR_IA32_UCODE_REV,
  MSR_PLATFORM_INFO,
  vcpu_get_msr,
} from "../../../../../include/x86/processor.ts";

Deno.test("feature MSRs start stuffed with the quirk and at 0 without it", () => {
  for (const disable of [false, true]) {
    const vm = vm_create(1);
    try {
      if (disable) vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_STUFF_FEATURE_MSRS);
      const v = vm_vcpu_add(vm, 0, null);
      for (const m of [MSR_IA32_UCODE_REV, MSR_IA32_ARCH_CAPABILITIES, MSR_PLATFORM_INFO]) {
        if (disable) assertEquals(vcpu_get_msr(v, m), 0n, `MSR 0x${m.toString(16)}`);
        else assertNotEquals(vcpu_get_msr(v, m), 0n, `MSR 0x${m.toString(16)}`);
      }
    } finally {
      kvm_vm_free(vm);
    }
  }
});
