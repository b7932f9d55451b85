// SPDX-License-Identifier: GPL-2.0-only
/**
 * The stage-2 view a vCPU gets after memslot changes among many slots: a
 * change reaches the vCPU's worker as a delta (the other slots keep their
 * objects, `memmap_delta()`), and what the guest reads is what the whole
 * new map would give: the moved slot at its new GPA, nothing at its old one,
 * a deleted slot gone, a re-created one back. And the mmu notifier: host
 * memory behind a memslot unmapped or replaced under a VM that already ran
 * is what the guest sees next, as KVM's stage-2 drops its translations
 * before munmap() returns.
 *
 * @module
 */

import "../../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { u64 } from "../../../../../../include/c/layout.ts";
import {
  __vcpu_run,
  addr_gpa2hva,
  get_ucall,
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  new_ucall,
  readq,
  ref,
  sync_global_to_guest,
  UCALL_SYNC,
  vcpu_run,
  virt_map,
  vm_create_with_one_vcpu,
  vm_mem_region_delete,
  vm_mem_region_move,
  vm_set_user_memory_region,
  vm_userspace_mem_region_add,
} from "../../../../../../include/kvm_util.ts";
import { VM_MEM_SRC_ANONYMOUS } from "../../../../../../include/kvm_util_types.ts";
import { KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO } from "../../../../../../include/linux/kvm.ts";
import { mmap, munmap, user_memory } from "../../../../../../include/libc/syscall.ts";
import { EFAULT } from "../../../../../../include/linux/errno.ts";
import { errno_get } from "../../../../../../include/libc/errno.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../../../../../../include/linux/mman.ts";

/** The guest-virtual address the guest reads next. */
const target = guest_global("memmap_test_target", u64);

/** Guest: reports the quadword at `target`, for ever. */
export function guest_read_target(): void {
  for (;;) GUEST_SYNC(readq(target.value));
}

/** Points the guest at `gva` and runs it: `__vcpu_run()`'s result. */
function run_read(vm: kvm_vm, vcpu: kvm_vcpu, gva: bigint): number {
  target.value = gva;
  sync_global_to_guest(vm, target);
  return __vcpu_run(vcpu);
}

const SLOTS = 64;
const FIRST_SLOT = 10;
const BASE = 0x1_0000_0000n;
const STRIDE = 0x2000n;
/** Where the last slot moves to. */
const MOVED = 0x2_0000_0000n;

Deno.test("a moved, deleted or re-created memslot among many is what the guest reads", () => {
  const v = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(v, guest_read_target);
  try {
    const gpa_of = (i: number) => BASE + BigInt(i) * STRIDE;
    for (let i = 0; i < SLOTS; i++) {
      vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa_of(i), FIRST_SLOT + i, 1, 0);
      // Identity-mapped, so that the guest reads each GPA at the same GVA.
      virt_map(vm, gpa_of(i), gpa_of(i), 1);
      const q = user_memory(addr_gpa2hva(vm, gpa_of(i)), 8)!;
      new DataView(q.buffer, q.byteOffset, 8).setBigUint64(0, 0x5100n + BigInt(i), true);
    }
    virt_map(vm, MOVED, MOVED, 1);
    const uc = new_ucall();
    const read = (gva: bigint): bigint | "mmio" => {
      assertEquals(run_read(vm, v.value, gva), 0);
      if (v.value.run.exit_reason === KVM_EXIT_MMIO) {
        assertEquals(v.value.run.mmio.phys_addr, gva, "the MMIO exit names the read GPA");
        // Completes the read with zeros; the guest then reports it.
        vcpu_run(v.value);
        assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
        return "mmio";
      }
      assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
      return uc.args.at(1);
    };
    const last = SLOTS - 1;
    // The first run gets the whole map; each change below is a delta.
    assertEquals(read(gpa_of(0)), 0x5100n);
    for (let round = 0; round < 3; round++) {
      vm_mem_region_move(vm, FIRST_SLOT + last, MOVED);
      assertEquals(read(MOVED), 0x5100n + BigInt(last), `round ${round}: at the new GPA`);
      assertEquals(read(gpa_of(last)), "mmio", `round ${round}: nothing at the old GPA`);
      assertEquals(read(gpa_of(last - 1)), 0x5100n + BigInt(last - 1), "its neighbour stays");
      vm_mem_region_move(vm, FIRST_SLOT + last, gpa_of(last));
      assertEquals(read(gpa_of(last)), 0x5100n + BigInt(last), `round ${round}: back`);
      assertEquals(read(MOVED), "mmio");
    }
    vm_mem_region_delete(vm, FIRST_SLOT + 7);
    assertEquals(read(gpa_of(7)), "mmio", "a deleted slot is gone");
    assertEquals(read(gpa_of(8)), 0x5108n);
    vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa_of(7), FIRST_SLOT + 7, 1, 0);
    assertEquals(read(gpa_of(7)), 0n, "re-created: new, zeroed memory");
    for (let i = 0; i < SLOTS; i += 9) {
      assertEquals(read(gpa_of(i)), i === 7 ? 0n : 0x5100n + BigInt(i), `slot ${i}`);
    }
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("memory behind a memslot unmapped or replaced: the guest's next access sees it (mmu notifier)", () => {
  const v = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(v, guest_read_target);
  try {
    const gpa = BASE, slot = FIRST_SLOT;
    vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot, 2, 0);
    virt_map(vm, gpa, gpa, 2);
    const hva = addr_gpa2hva(vm, gpa);
    const put = (at: bigint, x: bigint) => {
      const q = user_memory(at, 8)!;
      new DataView(q.buffer, q.byteOffset, 8).setBigUint64(0, x, true);
    };
    put(hva, 0x1111n);
    put(hva + 0x1000n, 0x2222n);
    const uc = new_ucall();
    const read = (gva: bigint) => run_read(vm, v.value, gva);
    assertEquals(read(gpa), 0);
    assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
    assertEquals(uc.args.at(1), 0x1111n, "the vCPU has the page mapped");
    // A fresh private anonymous page over the first one: the guest reads it, zeroed.
    const fixed = mmap(
      hva,
      0x1000,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
      -1,
      0,
    );
    assertEquals(fixed, hva);
    assertEquals(read(gpa), 0);
    assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
    assertEquals(uc.args.at(1), 0n, "the replaced page is the new mapping's");
    // Nothing mapped behind the second page: KVM_RUN fails with EFAULT and says which page.
    assertEquals(munmap(hva + 0x1000n, 0x1000), 0);
    assertEquals(read(gpa + 0x1000n), -1);
    assertEquals(errno_get(), EFAULT);
    assertEquals(v.value.run.exit_reason, KVM_EXIT_MEMORY_FAULT);
    assertEquals(v.value.run.memory_fault.gpa, gpa + 0x1000n);
    // kvm_prepare_memory_fault_exit(): the page, and no PRIVATE flag for shared memory.
    assertEquals(v.value.run.memory_fault.size, 0x1000n);
    assertEquals(v.value.run.memory_fault.flags, 0n);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("the notifier finds every memslot a range backs, aliases and slots that start below it", () => {
  const v = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(v, guest_read_target);
  try {
    // Many small slots, then a 4-page one whose last page a 1-page slot aliases at another GPA.
    for (let i = 0; i < 32; i++) {
      vm_userspace_mem_region_add(
        vm,
        VM_MEM_SRC_ANONYMOUS,
        BASE + BigInt(i) * STRIDE,
        40 + i,
        1,
        0,
      );
    }
    const big = MOVED, alias = MOVED + 0x10_0000n;
    vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, big, FIRST_SLOT, 4, 0);
    const hva = addr_gpa2hva(vm, big);
    vm_set_user_memory_region(vm, FIRST_SLOT + 1, 0, alias, 0x1000n, hva + 0x3000n);
    virt_map(vm, big, big, 4);
    virt_map(vm, alias, alias, 1);
    const q = user_memory(hva + 0x3000n, 8)!;
    new DataView(q.buffer, q.byteOffset, 8).setBigUint64(0, 0x77n, true);
    const uc = new_ucall();
    const read = (gva: bigint) => run_read(vm, v.value, gva);
    for (const gva of [big + 0x3000n, alias]) {
      assertEquals(read(gva), 0);
      assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
      assertEquals(uc.args.at(1), 0x77n, "both slots map the page");
    }
    // Page 2 is backed by the big slot alone, which starts below it; page 3
    // by both. A faulting access is retried by the next KVM_RUN, so each
    // page is mapped again before the next one is tried.
    for (const [page, gva] of [[0x2000n, big + 0x2000n], [0x3000n, alias]] as const) {
      const at = hva + page;
      assertEquals(read(gva), 0);
      assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
      assertEquals(munmap(at, 0x1000), 0);
      assertEquals(read(gva), -1, `0x${gva.toString(16)}: the unmapped page faults`);
      assertEquals(errno_get(), EFAULT);
      assertEquals(v.value.run.exit_reason, KVM_EXIT_MEMORY_FAULT);
      assertEquals(v.value.run.memory_fault.gpa, gva);
      const fresh = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      assertEquals(mmap(at, 0x1000, PROT_READ | PROT_WRITE, fresh, -1, 0), at);
      assertEquals(__vcpu_run(v.value), 0);
      assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
      assertEquals(uc.args.at(1), 0n, "the retried access reads the new page");
    }
    assertEquals(read(big), 0, "the big slot's other pages stay");
    assertEquals(get_ucall(v.value, uc), UCALL_SYNC);
  } finally {
    kvm_vm_free(vm);
  }
});
