// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_PRE_FAULT_MEMORY, expected values read from kvm-x86
 * `virt/kvm/kvm_main.c` (`kvm_vcpu_pre_fault_memory()`: flags, alignment,
 * empty or wrapping range, then the loop that advances `gpa`/`size` and
 * succeeds if anything was mapped) and `arch/x86/kvm/mmu/mmu.c`
 * (`kvm_arch_vcpu_pre_fault_memory()` → `kvm_tdp_map_page()`: ENOENT where
 * the fault would be emulated MMIO, EFAULT with KVM_EXIT_MEMORY_FAULT where
 * the memory cannot be faulted in; KVM_CAP_PRE_FAULT_MEMORY is `tdp_enabled`).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { ioctl } from "../../../../../../include/libc/syscall.ts";
import { EFAULT, EINVAL, ENOENT } from "../../../../../../include/linux/errno.ts";
import {
  KVM_CAP_PRE_FAULT_MEMORY,
  KVM_CHECK_EXTENSION,
  KVM_EXIT_MEMORY_FAULT,
  KVM_PRE_FAULT_MEMORY,
  kvm_pre_fault_memory,
} from "../../../../../../include/linux/kvm.ts";
import {
  anon,
  assert_errno,
  close_all,
  create_vcpu,
  create_vm,
  set_region,
} from "../../../../testdata/util.ts";
import { current } from "../../../../include/linux/sched.ts";
import { file_to_vcpu } from "../../../../virt/kvm/kvm_main.ts";

const PAGE = 0x1000n;

function prefault(vcpu: number, gpa: bigint, size: bigint, flags = 0n) {
  const r = kvm_pre_fault_memory.alloc();
  r.gpa = gpa;
  r.size = size;
  r.flags = flags;
  return { ret: ioctl(vcpu, KVM_PRE_FAULT_MEMORY, r), gpa: r.gpa, size: r.size };
}

Deno.test("KVM_PRE_FAULT_MEMORY: argument checks of kvm_vcpu_pre_fault_memory()", () => {
  const [kvm, vm] = create_vm();
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_PRE_FAULT_MEMORY), 1);
  const fd = create_vcpu(vm);
  assert_errno(prefault(fd, 0n, PAGE, 1n).ret, EINVAL, "flags");
  assert_errno(prefault(fd, 0x800n, PAGE).ret, EINVAL, "gpa unaligned");
  assert_errno(prefault(fd, 0n, 0x800n).ret, EINVAL, "size unaligned");
  assert_errno(prefault(fd, 0n, 0n).ret, EINVAL, "empty");
  assert_errno(prefault(fd, 0xffff_ffff_ffff_f000n, 2n * PAGE).ret, EINVAL, "wraps");
  assert_errno(ioctl(fd, KVM_PRE_FAULT_MEMORY, 0), EFAULT, "NULL");
  close_all(fd, vm, kvm);
});

Deno.test("KVM_PRE_FAULT_MEMORY: maps what memslots back, ENOENT (MMIO) where none is", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  assertEquals(set_region(vm, 0, 0, 0n, 16n * PAGE, anon(16n * PAGE)), 0);
  // Nothing mapped: the error, and the range untouched.
  const none = prefault(fd, 0x100000n, PAGE);
  assert_errno(none.ret, ENOENT, "no memslot");
  assertEquals([none.gpa, none.size], [0x100000n, PAGE]);
  const all = prefault(fd, 0n, 16n * PAGE);
  assertEquals([all.ret, all.gpa, all.size], [0, 16n * PAGE, 0n]);
  // Part of it mapped: success, and the range left says where it stopped.
  const part = prefault(fd, 8n * PAGE, 16n * PAGE);
  assertEquals([part.ret, part.gpa, part.size], [0, 16n * PAGE, 8n * PAGE]);
  close_all(fd, vm, kvm);
});

Deno.test("KVM_PRE_FAULT_MEMORY: a slot whose host memory cannot be faulted in is EFAULT + KVM_EXIT_MEMORY_FAULT", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  // A user address nothing is mapped at (the kernel's hva → pfn fails).
  assertEquals(set_region(vm, 0, 0, 0n, 4n * PAGE, 0x7f00_dead_0000n), 0);
  const r = prefault(fd, PAGE, PAGE);
  assert_errno(r.ret, EFAULT, "unmapped hva");
  const v = file_to_vcpu(current.files.lookup(fd)!)!;
  assertEquals(v.run.getUint32(8, true), KVM_EXIT_MEMORY_FAULT);
  close_all(fd, vm, kvm);
});
