// SPDX-License-Identifier: GPL-2.0-only
/**
 * A memslot change among many, as `memslot_perf_test` makes them: one of
 * 8,192 one-page memslots moved while a vCPU exists, then KVM_RUN (the vCPU
 * takes the new map at its entry). KVM's cost for this does not grow with
 * the number of memslots; the figure shows how far the simulator's does.
 *
 * `deno task bench sim/kernel/arch/x86/kvm/vmx/memmap_bench.ts`
 *
 * @module
 */

import "../../../../../use_sim_backend.ts";
import {
  GUEST_SYNC,
  type kvm_vcpu,
  ref,
  vcpu_run,
  vm_create_with_one_vcpu,
  vm_mem_region_move,
  vm_userspace_mem_region_add,
} from "../../../../../../include/kvm_util.ts";
import { VM_MEM_SRC_ANONYMOUS } from "../../../../../../include/kvm_util_types.ts";
import { in_guest_worker } from "../../../../../../include/libc/process.ts";

/** Memslots of the VM, besides the library's own. */
export const MEMSLOTS = 8192;

/** Guest: an exit per entry. */
export function memmap_bench_guest(): void {
  for (;;) GUEST_SYNC(0);
}

// The vCPU worker imports this module as the guest image: only the host builds the VM.
if (!in_guest_worker()) {
  const v = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(v, memmap_bench_guest);
  const base = 0x1_0000_0000n;
  for (let i = 0; i < MEMSLOTS; i++) {
    vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, base + BigInt(i) * 0x2000n, 10 + i, 1, 0);
  }
  vcpu_run(v.value);
  const last = 10 + MEMSLOTS - 1;
  const home = base + BigInt(MEMSLOTS - 1) * 0x2000n;
  let away = false;
  Deno.bench(`one of ${MEMSLOTS} memslots moved, then KVM_RUN`, () => {
    away = !away;
    vm_mem_region_move(vm, last, away ? 0x2_0000_0000n : home);
    vcpu_run(v.value);
  });
}
