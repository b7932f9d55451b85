// SPDX-License-Identifier: GPL-2.0-only
/**
 * kvm_synchronize_tsc(): a vCPU created after another takes the VM's current
 * TSC offset (vCPUs share one TSC), a userspace write far from what the last
 * write would read now sets the offset outright, and a userspace write of 0
 * synchronizes to the current offset.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assert } from "@std/assert";
import { kvm_vm_free, vm_create, vm_vcpu_add } from "../../../../../include/kvm_util.ts";
import { MSR_IA32_TSC, vcpu_get_msr, vcpu_set_msr } from "../../../../../include/x86/processor.ts";

/** Within 2^32 cycles (about 2 s at 2 GHz): the same TSC, read a moment apart. */
const near = (a: bigint, b: bigint) => (a > b ? a - b : b - a) < 1n << 32n;

Deno.test("vCPUs created one after another share the TSC; a write of 0 synchronizes", () => {
  const vm = vm_create(2);
  try {
    const v0 = vm_vcpu_add(vm, 0, null);
    vcpu_set_msr(v0, MSR_IA32_TSC, 1n << 40n);
    const v1 = vm_vcpu_add(vm, 1, null);
    const t0 = vcpu_get_msr(v0, MSR_IA32_TSC);
    const t1 = vcpu_get_msr(v1, MSR_IA32_TSC);
    assert(t1 >= 1n << 40n && near(t0, t1), `vCPU 1 TSC ${t1} vs vCPU 0 TSC ${t0}`);

    // Far from the last write (2^40 + elapsed): vCPU 1 alone moves.
    vcpu_set_msr(v1, MSR_IA32_TSC, 1n << 44n);
    assert(near(vcpu_get_msr(v1, MSR_IA32_TSC), 1n << 44n));
    assert(near(vcpu_get_msr(v0, MSR_IA32_TSC), 1n << 40n));

    // A write of 0 takes the current offset, vCPU 1's.
    vcpu_set_msr(v0, MSR_IA32_TSC, 0n);
    assert(near(vcpu_get_msr(v0, MSR_IA32_TSC), 1n << 44n));
  } finally {
    kvm_vm_free(vm);
  }
});
