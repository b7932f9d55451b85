// SPDX-License-Identifier: GPL-2.0-only
/**
 * Maximum APIC ID capability tests: port of
 * `tools/testing/selftests/kvm/x86/max_vcpuid_cap_test.c`.
 *
 * Copyright (C) 2022, Intel, Inc.
 *
 * Tests for getting/setting maximum APIC ID capability. A line-for-line
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

  // Get KVM_CAP_MAX_VCPU_ID cap supported in KVM
  let ret = vm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);

  // Try to set KVM_CAP_MAX_VCPU_ID beyond KVM cap
  ret = __vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, ret + 1);
  TEST_ASSERT(ret < 0, "Setting KVM_CAP_MAX_VCPU_ID beyond KVM cap should fail");

  // Test BOOT_CPU_ID interaction (MAX_VCPU_ID cannot be lower)
  if (kvm_has_cap(KVM_CAP_SET_BOOT_CPU_ID)) {
    vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, MAX_VCPU_ID);

    // Try setting KVM_CAP_MAX_VCPU_ID below BOOT_CPU_ID
    ret = __vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, MAX_VCPU_ID - 1);
    TEST_ASSERT(ret < 0, "Setting KVM_CAP_MAX_VCPU_ID below BOOT_CPU_ID should fail");
  }

  // Set KVM_CAP_MAX_VCPU_ID. Note: KVM_CAP_MAX_VCPU_ID is a misnomer,
  // it actually represents maximum vcpu_id plus one.
  vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, MAX_VCPU_ID + 1);

  // Try to set KVM_CAP_MAX_VCPU_ID again
  ret = __vm_enable_cap(vm, KVM_CAP_MAX_VCPU_ID, MAX_VCPU_ID + 2);
  TEST_ASSERT(ret < 0, "Setting KVM_CAP_MAX_VCPU_ID multiple times should fail");

  // Create vCPU with id beyond KVM_CAP_MAX_VCPU_ID cap
  ret = __vm_ioctl(vm, KVM_CREATE_VCPU, MAX_VCPU_ID + 1);
  TEST_ASSERT(ret < 0, "Creating vCPU with ID > MAX_VCPU_ID should fail");

  // Create vCPU with bits 63:32 != 0, but an otherwise valid id
  ret = __vm_ioctl(vm, KVM_CREATE_VCPU, 1n << 32n);
  TEST_ASSERT(ret < 0, "Creating vCPU with ID[63:32] != 0 should fail");

  // Create vCPU with id within bounds
  ret = __vm_ioctl(vm, KVM_CREATE_VCPU, 0);
  TEST_ASSERT(ret >= 0, "Creating vCPU with ID 0 should succeed");

  close(ret);
  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
