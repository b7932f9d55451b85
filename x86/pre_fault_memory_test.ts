// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_PRE_FAULT_MEMORY, also racing a memslot deletion: port of
 * `tools/testing/selftests/kvm/pre_fault_memory_test.c` (upstream keeps this
 * generic test at the top level; the SDK keeps every program in `x86/`).
 *
 * Copyright (C) 2024, Intel, Inc
 *
 * Author:
 * Isaku Yamahata <isaku.yamahata at gmail.com>
 *
 * What differs from C: the slot worker pthread is an async function and
 * C's `cpu_relax()` spin loops await the next turn of the event loop, so
 * the deletion lands between two of `main`'s prefault calls (one of the
 * interleavings C's race allows) rather than at an arbitrary instant.
 * C's `vm_guest_mode_params[]` is `vm_guest_mode_params_table`.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vcpu_ioctl,
  align_down,
  get_ucall,
  GUEST_DONE,
  kvm_check_cap,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  new_ucall,
  pr_info,
  readq,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_ASSERT_VM_VCPU_IOCTL,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_run,
  virt_map,
  vm_create_shape_with_one_vcpu,
  vm_guest_mode_params_table,
  vm_mem_region_delete,
  vm_mem_set_private,
  VM_MEM_SRC_ANONYMOUS,
  VM_MODE_DEFAULT,
  type vm_shape,
  vm_userspace_mem_region_add,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_PRE_FAULT_MEMORY,
  KVM_CAP_VM_TYPES,
  KVM_MEM_GUEST_MEMFD,
  KVM_PRE_FAULT_MEMORY,
  kvm_pre_fault_memory,
} from "../include/linux/kvm.ts";
import { KVM_X86_SW_PROTECTED_VM } from "../include/asm/kvm.ts";
import { PAGE_SIZE, vcpu_args_set } from "../include/x86/processor.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EINTR, ENOENT } from "../include/linux/errno.ts";

const SZ_2M = 0x200000n;
const PG = BigInt(PAGE_SIZE);

// 2M plus one page, so the range spans a huge page and a 4K tail; the slot
// number is arbitrary.
const TEST_SIZE = SZ_2M + PG;
const TEST_NPAGES = TEST_SIZE / PG;
const TEST_SLOT = 10;

/** Guest entry point. */
export function guest_code(base_gva: bigint): void {
  for (let i = 0n; i < TEST_NPAGES; i++) readq(base_gva + i * PG);

  GUEST_DONE();
}

interface slot_worker_data {
  vm: kvm_vm;
  gpa: bigint;
  flags: number;
  worker_ready: boolean;
  prefault_ready: boolean;
  recreate_slot: boolean;
}

/** C `cpu_relax()` in a spin loop: let the other "thread" run. */
const cpu_relax = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function delete_slot_worker(data: slot_worker_data): Promise<void> {
  const vm = data.vm;

  data.worker_ready = true;

  while (!data.prefault_ready) await cpu_relax();

  vm_mem_region_delete(vm, TEST_SLOT);

  while (!data.recreate_slot) await cpu_relax();

  vm_userspace_mem_region_add(
    vm,
    VM_MEM_SRC_ANONYMOUS,
    data.gpa,
    TEST_SLOT,
    TEST_NPAGES,
    data.flags,
  );
}

async function pre_fault_memory(
  vcpu: kvm_vcpu,
  base_gpa: bigint,
  offset: bigint,
  size: bigint,
  expected_left: bigint,
  is_private: boolean,
): Promise<void> {
  const range = kvm_pre_fault_memory.alloc();
  range.gpa = base_gpa + offset;
  range.size = size;
  range.flags = 0n;
  const data: slot_worker_data = {
    vm: vcpu.vm,
    gpa: base_gpa,
    flags: is_private ? KVM_MEM_GUEST_MEMFD : 0,
    worker_ready: false,
    prefault_ready: false,
    recreate_slot: false,
  };
  let slot_recreated = false;
  let ret: number;
  let save_errno = 0;

  // A worker removes and later re-adds the slot while we prefault, racing
  // KVM_PRE_FAULT_MEMORY against memslot deletion.
  const slot_worker = delete_slot_worker(data);

  while (!data.worker_ready) await cpu_relax();

  data.prefault_ready = true;

  for (;;) {
    const prev = range.size;
    ret = __vcpu_ioctl(vcpu, KVM_PRE_FAULT_MEMORY, range);
    save_errno = errno_get();
    TEST_ASSERT(
      (range.size < prev) !== (ret < 0),
      "%sexpecting range.size to change on %s",
      ret < 0 ? "not " : "",
      ret < 0 ? "failure" : "success",
    );

    // EINTR only means something cut the ioctl short: go again at once.
    if (ret < 0 && save_errno === EINTR) continue;

    // First pass only: have the worker put the slot back, both to finish a
    // prefault the deletion cut short and to reset for the next case, and
    // join it so no later call can race a deletion.
    if (!slot_recreated) {
      data.recreate_slot = true;
      await slot_worker;
      slot_recreated = true;

      // One more call with the slot stable makes the outcome
      // deterministic instead of a stray EAGAIN. Skip it when nothing is
      // left: KVM rejects size 0 with EINVAL, and a range that is fully
      // prefaulted never reports EAGAIN anyway.
      if (range.size) continue;
    }

    // Stop once nothing remains or the call failed: EINTR was retried
    // above, and EAGAIN from a slot mid-deletion cannot recur now that
    // the slot is back.
    if (!range.size || ret < 0) break;
  }

  TEST_ASSERT(
    range.size === expected_left,
    "Completed with %llu bytes left, expected %lu",
    range.size,
    expected_left,
  );

  // A fully backed range must end in success. A range running past the
  // memslots must end in ENOENT: with no slot there KVM would have to
  // emulate MMIO (RET_PF_EMULATE), which prefaulting cannot do.
  if (!expected_left) {
    TEST_ASSERT_VM_VCPU_IOCTL(!ret, "KVM_PRE_FAULT_MEMORY", ret, vcpu.vm);
  } else {
    TEST_ASSERT_VM_VCPU_IOCTL(
      !!ret && save_errno === ENOENT,
      "KVM_PRE_FAULT_MEMORY",
      ret,
      vcpu.vm,
    );
  }
}

async function __test_pre_fault_memory(vm_type: number, is_private: boolean): Promise<void> {
  const shape: vm_shape = {
    mode: VM_MODE_DEFAULT,
    type: vm_type,
  };
  const vcpu = ref<kvm_vcpu>();
  const uc = new_ucall();

  const vm = vm_create_shape_with_one_vcpu(shape, vcpu, guest_code);

  const guest_page_size = BigInt(vm_guest_mode_params_table[VM_MODE_DEFAULT]!.page_size);
  let gpa = (vm.max_gfn - TEST_NPAGES) * guest_page_size;
  const alignment = SZ_2M;
  gpa = align_down(gpa, alignment);
  const gva = gpa & ((1n << BigInt(vm.va_bits - 1)) - 1n);

  vm_userspace_mem_region_add(
    vm,
    VM_MEM_SRC_ANONYMOUS,
    gpa,
    TEST_SLOT,
    TEST_NPAGES,
    is_private ? KVM_MEM_GUEST_MEMFD : 0,
  );
  virt_map(vm, gva, gpa, Number(TEST_NPAGES));

  if (is_private) vm_mem_set_private(vm, gpa, TEST_SIZE);

  await pre_fault_memory(vcpu.value, gpa, 0n, SZ_2M, 0n, is_private);
  await pre_fault_memory(vcpu.value, gpa, SZ_2M, PG * 2n, PG, is_private);
  await pre_fault_memory(vcpu.value, gpa, TEST_SIZE, PG, PG, is_private);

  vcpu_args_set(vcpu.value, 1, gva);
  vcpu_run(vcpu.value);

  switch (get_ucall(vcpu.value, uc)) {
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      break;
    case UCALL_DONE:
      break;
    default:
      TEST_FAIL("Unknown ucall 0x%lx.", uc.cmd);
      break;
  }

  kvm_vm_free(vm);
}

async function test_pre_fault_memory(vm_type: number, is_private: boolean): Promise<void> {
  if (vm_type && !(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << vm_type))) {
    pr_info("Skipping tests for vm_type 0x%lx\n", vm_type);
    return;
  }

  await __test_pre_fault_memory(vm_type, is_private);
}

async function main(): Promise<number> {
  TEST_REQUIRE(kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY));
  TEST_REQUIRE_GUEST_CODE();

  await test_pre_fault_memory(0, false);
  await test_pre_fault_memory(KVM_X86_SW_PROTECTED_VM, false);
  await test_pre_fault_memory(KVM_X86_SW_PROTECTED_VM, true);
  return 0;
}

await ksft_main(import.meta, main);
