// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_EXIT_MEMORY_FAULT for private accesses KVM cannot serve: port of
 * `tools/testing/selftests/kvm/x86/private_mem_kvm_exits_test.c`.
 *
 * Copyright (C) 2023, Google LLC.
 *
 * What differs from C: the pthread that runs the vCPU while `main` deletes
 * the memslot is `_vcpu_run_async()`, awaited where C joins the thread.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  _vcpu_run,
  _vcpu_run_async,
  kvm_check_cap,
  KVM_IOCTL_ERROR,
  type kvm_vcpu,
  kvm_vm_free,
  readq,
  ref,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  virt_map,
  vm_create_shape_with_one_vcpu,
  vm_mem_region_delete,
  vm_mem_set_private,
  VM_MEM_SRC_ANONYMOUS,
  VM_MODE_DEFAULT,
  type vm_shape,
  vm_userspace_mem_region_add,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_VM_TYPES,
  KVM_EXIT_MEMORY_FAULT,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_RUN,
} from "../include/linux/kvm.ts";
import { KVM_X86_SW_PROTECTED_VM } from "../include/asm/kvm.ts";
import { PAGE_SIZE } from "../include/x86/processor.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EFAULT } from "../include/linux/errno.ts";

// Any GPA/slot pair clear of the library's own memslots works.
const EXITS_TEST_GVA = 0xc0000000n;
const EXITS_TEST_GPA = EXITS_TEST_GVA;
const EXITS_TEST_NPAGES = 1;
const EXITS_TEST_SIZE = BigInt(EXITS_TEST_NPAGES * PAGE_SIZE);
const EXITS_TEST_SLOT = 10;

/** Guest entry point. */
export function guest_repeatedly_read(): bigint {
  let value = 0n;

  for (;;) value = readq(EXITS_TEST_GVA);

  // deno-lint-ignore no-unreachable
  return value;
}

function check_exit(vcpu: kvm_vcpu, r: number): number {
  if (r) {
    TEST_ASSERT(errno_get() === EFAULT, KVM_IOCTL_ERROR(KVM_RUN, r));
    TEST_ASSERT_EQ(vcpu.run.exit_reason, KVM_EXIT_MEMORY_FAULT);
  }
  return vcpu.run.exit_reason;
}

function run_vcpu_get_exit_reason(vcpu: kvm_vcpu): number {
  return check_exit(vcpu, _vcpu_run(vcpu));
}

const protected_vm_shape: vm_shape = {
  mode: VM_MODE_DEFAULT,
  type: KVM_X86_SW_PROTECTED_VM,
};

async function test_private_access_memslot_deleted(): Promise<void> {
  const vcpu = ref<kvm_vcpu>();

  const vm = vm_create_shape_with_one_vcpu(protected_vm_shape, vcpu, guest_repeatedly_read);

  vm_userspace_mem_region_add(
    vm,
    VM_MEM_SRC_ANONYMOUS,
    EXITS_TEST_GPA,
    EXITS_TEST_SLOT,
    EXITS_TEST_NPAGES,
    KVM_MEM_GUEST_MEMFD,
  );

  virt_map(vm, EXITS_TEST_GVA, EXITS_TEST_GPA, EXITS_TEST_NPAGES);

  // Mark the page private so the guest's access must go to guest_memfd.
  vm_mem_set_private(vm, EXITS_TEST_GPA, EXITS_TEST_SIZE);

  const vm_thread = _vcpu_run_async(vcpu.value).then((r) => check_exit(vcpu.value, r));

  vm_mem_region_delete(vm, EXITS_TEST_SLOT);

  const exit_reason = await vm_thread;

  TEST_ASSERT_EQ(exit_reason, KVM_EXIT_MEMORY_FAULT);
  TEST_ASSERT_EQ(vcpu.value.run.memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  TEST_ASSERT_EQ(vcpu.value.run.memory_fault.gpa, EXITS_TEST_GPA);
  TEST_ASSERT_EQ(vcpu.value.run.memory_fault.size, EXITS_TEST_SIZE);

  kvm_vm_free(vm);
}

function test_private_access_memslot_not_private(): void {
  const vcpu = ref<kvm_vcpu>();

  const vm = vm_create_shape_with_one_vcpu(protected_vm_shape, vcpu, guest_repeatedly_read);

  // A slot with no guest_memfd behind it cannot back private memory.
  vm_userspace_mem_region_add(
    vm,
    VM_MEM_SRC_ANONYMOUS,
    EXITS_TEST_GPA,
    EXITS_TEST_SLOT,
    EXITS_TEST_NPAGES,
    0,
  );

  virt_map(vm, EXITS_TEST_GVA, EXITS_TEST_GPA, EXITS_TEST_NPAGES);

  // Mark the page private so the guest's access must go to guest_memfd.
  vm_mem_set_private(vm, EXITS_TEST_GPA, EXITS_TEST_SIZE);

  const exit_reason = run_vcpu_get_exit_reason(vcpu.value);

  TEST_ASSERT_EQ(exit_reason, KVM_EXIT_MEMORY_FAULT);
  TEST_ASSERT_EQ(vcpu.value.run.memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  TEST_ASSERT_EQ(vcpu.value.run.memory_fault.gpa, EXITS_TEST_GPA);
  TEST_ASSERT_EQ(vcpu.value.run.memory_fault.size, EXITS_TEST_SIZE);

  kvm_vm_free(vm);
}

async function main(): Promise<number> {
  TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_SW_PROTECTED_VM));
  TEST_REQUIRE_GUEST_CODE();

  await test_private_access_memslot_deleted();
  test_private_access_memslot_not_private();
  return 0;
}

await ksft_main(import.meta, main);
