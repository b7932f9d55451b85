// SPDX-License-Identifier: GPL-2.0-only
/**
 * kvm_create_max_vcpus: port of
 * `tools/testing/selftests/kvm/kvm_create_max_vcpus.c` (upstream keeps this
 * generic test at the top level of the selftests; the SDK keeps every program
 * in `x86/` under its upstream file name).
 *
 * Copyright (C) 2019, Google LLC.
 *
 * Creates as many vCPUs as KVM_CAP_MAX_VCPUS allows, with the highest ids
 * KVM_CAP_MAX_VCPU_ID allows.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vm_vcpu_add,
  kvm_check_cap,
  kvm_set_files_rlimit,
  kvm_vm_free,
  pr_info,
  TEST_ASSERT,
  vm_create_barebones,
} from "../include/kvm_util.ts";
import { KVM_CAP_MAX_VCPU_ID, KVM_CAP_MAX_VCPUS } from "../include/linux/kvm.ts";

function test_vcpu_creation(first_vcpu_id: number, num_vcpus: number): void {
  pr_info(
    "Testing creating %d vCPUs, with IDs %d...%d.\n",
    num_vcpus,
    first_vcpu_id,
    first_vcpu_id + num_vcpus - 1,
  );
  const vm = vm_create_barebones();
  for (let i = first_vcpu_id; i < first_vcpu_id + num_vcpus; i++) {
    // vm_vcpu_add() fails the test if creation is refused.
    __vm_vcpu_add(vm, i);
  }
  kvm_vm_free(vm);
}

function main(): number {
  let kvm_max_vcpu_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
  const kvm_max_vcpus = kvm_check_cap(KVM_CAP_MAX_VCPUS);

  pr_info("KVM_CAP_MAX_VCPU_ID: %d\n", kvm_max_vcpu_id);
  pr_info("KVM_CAP_MAX_VCPUS: %d\n", kvm_max_vcpus);

  kvm_set_files_rlimit(kvm_max_vcpus);

  // Kernels older than 4.8 lack KVM_CAP_MAX_VCPU_ID; there the vCPU count
  // limit doubles as the id limit.
  if (!kvm_max_vcpu_id) kvm_max_vcpu_id = kvm_max_vcpus;

  TEST_ASSERT(
    kvm_max_vcpu_id >= kvm_max_vcpus,
    "KVM_MAX_VCPU_IDS (%d) must be at least as large as KVM_MAX_VCPUS (%d).",
    kvm_max_vcpu_id,
    kvm_max_vcpus,
  );

  test_vcpu_creation(0, kvm_max_vcpus);

  if (kvm_max_vcpu_id > kvm_max_vcpus) {
    test_vcpu_creation(kvm_max_vcpu_id - kvm_max_vcpus, kvm_max_vcpus);
  }
  return 0;
}

await ksft_main(import.meta, main);
