// SPDX-License-Identifier: GPL-2.0-only
/**
 * Maximum APIC ID capability tests: port of
 * `tools/testing/selftests/kvm/x86/max_vcpuid_cap_test.c`.
 *
 * Copyright (C) 2022, Intel, Inc.
 *
 * Reads and writes KVM_CAP_MAX_VCPU_ID and checks the vCPU ids it admits. A
 * line-for-line
 * port; the C `(void *)` ioctl arguments are plain numbers.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vm_enable_cap,
  __vm_ioctl,
  kvm_has_cap,
  kvm_vm_free,
  TEST_ASSERT,
  vm_check_cap,
  vm_create_barebones,
  vm_enable_cap,
  vm_ioctl,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_SET_BOOT_CPU_ID,
  KVM_CREATE_VCPU,
  KVM_SET_BOOT_CPU_ID,
} from "../include/linux/kvm.ts";
import { close } from "../include/libc/syscall.ts";

const MAX_VCPU_ID = 2;

function main(): number {
  const vm = vm_create_barebones();

  // The largest limit KVM will accept.
  let ret = vm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);

  // A limit above what KVM reports must be refused.
  ret = __vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, ret + 1);
  TEST_ASSERT(ret < 0, "Setting KVM_CAP_MAX_VCPU_ID beyond KVM cap should fail");

  // The limit may not drop to or below an already chosen boot vCPU id.
  if (kvm_has_cap(KVM_CAP_SET_BOOT_CPU_ID)) {
    vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, MAX_VCPU_ID);

    // A limit that would exclude the boot vCPU must fail.
    ret = __vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, MAX_VCPU_ID - 1);
    TEST_ASSERT(ret < 0, "Setting KVM_CAP_MAX_VCPU_ID below BOOT_CPU_ID should fail");
  }

  // The capability value is one past the highest permitted vcpu_id,
  // despite its name.
  vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, MAX_VCPU_ID + 1);

  // The limit is write-once per VM.
  ret = __vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, MAX_VCPU_ID + 2);
  TEST_ASSERT(ret < 0, "Setting KVM_CAP_MAX_VCPU_ID multiple times should fail");

  // An id equal to the limit is out of range.
  ret = __vm_ioctl(vm, KVM_CREATE_VCPU, MAX_VCPU_ID + 1);
  TEST_ASSERT(ret < 0, "Creating vCPU with ID > MAX_VCPU_ID should fail");

  // KVM must not truncate the id to 32 bits before checking it.
  ret = __vm_ioctl(vm, KVM_CREATE_VCPU, 1n << 32n);
  TEST_ASSERT(ret < 0, "Creating vCPU with ID[63:32] != 0 should fail");

  // An id below the limit is accepted.
  ret = __vm_ioctl(vm, KVM_CREATE_VCPU, 0);
  TEST_ASSERT(ret >= 0, "Creating vCPU with ID 0 should succeed");

  close(ret);
  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
