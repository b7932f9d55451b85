// SPDX-License-Identifier: GPL-2.0-only
/**
 * A VM's whole life through the library, as a test lives it: created with
 * one vCPU (`vm_create_with_one_vcpu`, or a TD built and finalized with
 * `VM_SHAPE_TDX`), run to the guest's first exit, freed. The `pool` group
 * is the same VM with the vCPU worker pool on (a freed vCPU's worker serves
 * the next VM) and off (each vCPU starts a worker, as before the pool). The
 * raw-ioctl twins, without the library's work, are in
 * `sim/kernel/arch/x86/kvm/vmx/vmx_bench.ts` and `sim/raw_td_bench.ts`.
 *
 * @module
 */

import "../sim/use_sim_backend.ts";
import {
  __vm_create_with_vcpus,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT_EQ,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { get_ucall, UCALL_DONE } from "../include/ucall_common.ts";
import { VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { tdx_run, tdx_test_success } from "../include/x86/tdx/test_util.ts";
import { set_vcpu_worker_pool } from "../sim/cpu/vcpu_thread.ts";

/** Guest: its first exit is the end. */
export function lifecycle_guest_done(): void {
  GUEST_DONE();
}

/** TD guest: its first exit is the end. */
export function lifecycle_td_done(): void {
  tdx_test_success();
}

function vm_life(): void {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, lifecycle_guest_done);
  vcpu_run(vcpu.value);
  TEST_ASSERT_EQ(get_ucall(vcpu.value, null), UCALL_DONE);
  kvm_vm_free(vm);
}

function td_life(): void {
  const vcpus: kvm_vcpu[] = [];
  const vm = __vm_create_with_vcpus(VM_SHAPE_TDX, 1, 0, lifecycle_td_done, vcpus);
  tdx_run(vcpus[0]!);
  kvm_vm_free(vm);
}

Deno.bench("VM + one vCPU + first exit + free (library)", { group: "vm", baseline: true }, vm_life);
Deno.bench("TD built + finalized + first exit + free (library)", { group: "vm" }, td_life);

Deno.bench("VM life, pool on", { group: "pool", baseline: true }, vm_life);
Deno.bench("VM life, pool off (a worker start per VM)", { group: "pool" }, (b) => {
  const old = set_vcpu_worker_pool(0);
  b.start();
  vm_life();
  b.end();
  set_vcpu_worker_pool(old);
});
