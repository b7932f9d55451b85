// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSR_K7_HWCR, which kvm_set_msr_common() emulates on Intel hosts too:
 * bits 3, 6 and 8 are accepted and dropped, 18 and 24 kept, any other
 * bit refused.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import { _vcpu_set_msr, MSR_K7_HWCR, vcpu_get_msr } from "../../../../../include/x86/processor.ts";

Deno.test("MSR_K7_HWCR keeps bits 18 and 24, drops 3/6/8, refuses the rest", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    const v = vcpu.value;
    assertEquals(vcpu_get_msr(v, MSR_K7_HWCR), 0n);
    assertEquals(_vcpu_set_msr(v, MSR_K7_HWCR, (1n << 18n) | (1n << 24n) | (1n << 6n)), 1);
    assertEquals(vcpu_get_msr(v, MSR_K7_HWCR), (1n << 18n) | (1n << 24n));
    assertEquals(_vcpu_set_msr(v, MSR_K7_HWCR, 1n << 0n), 0);
    assertEquals(_vcpu_set_msr(v, MSR_K7_HWCR, 1n << 63n), 0);
    assertEquals(vcpu_get_msr(v, MSR_K7_HWCR), (1n << 18n) | (1n << 24n));
  } finally {
    kvm_vm_free(vm);
  }
});
