// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_SET_BOOT_CPU_ID picks which vCPU is the BSP: port of
 * `tools/testing/selftests/kvm/x86/set_boot_cpu_id.c`.
 *
 * Copyright (C) 2020, Red Hat, Inc.
 *
 * A line-for-line port; `apic.h`'s `get_bsp_flag()` is defined here (the
 * SDK has no `apic.h` twin yet).
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vm_ioctl,
  c_str,
  exit_reason_str,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_ASSERT_NE,
  GUEST_DONE,
  GUEST_SYNC,
  kvm_has_cap,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  new_ucall,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  vm_check_cap,
  vm_create,
  vm_ioctl,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_SET_BOOT_CPU_ID,
  KVM_SET_BOOT_CPU_ID,
} from "../include/linux/kvm.ts";
import { MSR_IA32_APICBASE, MSR_IA32_APICBASE_BSP, rdmsr } from "../include/x86/processor.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EBUSY, EINVAL } from "../include/linux/errno.ts";

/** `apic.h`'s `get_bsp_flag()` (guest). */
function get_bsp_flag(): bigint {
  return rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BSP;
}

/** Guest entry point of the BSP. */
export function guest_bsp_vcpu(_arg: bigint): void {
  GUEST_SYNC(1);

  GUEST_ASSERT_NE(get_bsp_flag(), 0);

  GUEST_DONE();
}

/** Guest entry point of the other vCPUs. */
export function guest_not_bsp_vcpu(_arg: bigint): void {
  GUEST_SYNC(1);

  GUEST_ASSERT_EQ(get_bsp_flag(), 0);

  GUEST_DONE();
}

function test_set_invalid_bsp(vm: kvm_vm): void {
  const max_vcpu_id = vm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);
  let r: number;

  if (max_vcpu_id) {
    r = __vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, max_vcpu_id + 1);
    TEST_ASSERT(r === -1 && errno_get() === EINVAL, "BSP with ID > MAX should fail");
  }

  r = __vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, 1n << 32n);
  TEST_ASSERT(r === -1 && errno_get() === EINVAL, "BSP with ID[63:32]!=0 should fail");
}

function test_set_bsp_busy(vcpu: kvm_vcpu, msg: string): void {
  const r = __vm_ioctl(vcpu.vm, KVM_SET_BOOT_CPU_ID, vcpu.id);

  TEST_ASSERT(r === -1 && errno_get() === EBUSY, "KVM_SET_BOOT_CPU_ID set %s", msg);
}

function run_vcpu(vcpu: kvm_vcpu): void {
  const uc = new_ucall();

  for (let stage = 0; stage < 2; stage++) {
    vcpu_run(vcpu);

    switch (get_ucall(vcpu, uc)) {
      case UCALL_SYNC:
        TEST_ASSERT(
          c_str(uc.args.at(0)) === "hello" && uc.args.at(1) === BigInt(stage + 1),
          "Stage %d: Unexpected register values vmexit, got %lx",
          stage + 1,
          uc.args.at(1),
        );
        test_set_bsp_busy(vcpu, "while running vm");
        break;
      case UCALL_DONE:
        TEST_ASSERT(stage === 1, "Expected GUEST_DONE in stage 2, got stage %d", stage);
        break;
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        // falls through (REPORT_GUEST_ASSERT() exits)
      default:
        TEST_ASSERT(false, "Unexpected exit: %s", exit_reason_str(vcpu.run.exit_reason));
    }
  }
}

function create_vm(nr_vcpus: number, bsp_vcpu_id: number, vcpus: kvm_vcpu[]): kvm_vm {
  const vm = vm_create(nr_vcpus);

  test_set_invalid_bsp(vm);

  vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, bsp_vcpu_id);

  for (let i = 0; i < nr_vcpus; i++) {
    vcpus[i] = vm_vcpu_add(vm, i, i === bsp_vcpu_id ? guest_bsp_vcpu : guest_not_bsp_vcpu);
  }
  return vm;
}

function run_vm_bsp(bsp_vcpu_id: number): void {
  const vcpus: kvm_vcpu[] = [];

  const vm = create_vm(2, bsp_vcpu_id, vcpus);

  run_vcpu(vcpus[0]!);
  run_vcpu(vcpus[1]!);

  kvm_vm_free(vm);
}

function check_set_bsp_busy(): void {
  const vcpus: kvm_vcpu[] = [];

  const vm = create_vm(2, 0, vcpus);

  test_set_bsp_busy(vcpus[1]!, "after adding vcpu");

  run_vcpu(vcpus[0]!);
  run_vcpu(vcpus[1]!);

  test_set_bsp_busy(vcpus[1]!, "to a terminated vcpu");

  kvm_vm_free(vm);
}

function main(): number {
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_SET_BOOT_CPU_ID));
  TEST_REQUIRE_GUEST_CODE();

  run_vm_bsp(0);
  run_vm_bsp(1);
  run_vm_bsp(0);

  check_set_bsp_busy();
  return 0;
}

await ksft_main(import.meta, main);
