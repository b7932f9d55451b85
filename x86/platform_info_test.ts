// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_CAP_MSR_PLATFORM_INFO gates the guest's MSR_PLATFORM_INFO: port of
 * `tools/testing/selftests/kvm/x86/platform_info_test.c`.
 *
 * Copyright (C) 2018, Google LLC.
 *
 * With the capability on, the guest reads the MSR; with it off, the read
 * faults.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  GUEST_SYNC,
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  vm_create_with_one_vcpu,
  vm_enable_cap,
} from "../include/kvm_util.ts";
import { KVM_CAP_MSR_PLATFORM_INFO, KVM_EXIT_IO } from "../include/linux/kvm.ts";
import { GP_VECTOR } from "../include/asm/kvm.ts";
import {
  MSR_PLATFORM_INFO,
  rdmsr,
  rdmsr_safe,
  vcpu_get_msr,
  vcpu_set_msr,
} from "../include/x86/processor.ts";

const MSR_PLATFORM_INFO_MAX_TURBO_RATIO = 0xff00n;

/** Guest entry point. */
export function guest_code(): void {
  const msr_platform_info = ref<bigint>();

  GUEST_SYNC(true);
  msr_platform_info.value = rdmsr(MSR_PLATFORM_INFO);
  GUEST_ASSERT_EQ(
    msr_platform_info.value & MSR_PLATFORM_INFO_MAX_TURBO_RATIO,
    MSR_PLATFORM_INFO_MAX_TURBO_RATIO,
  );

  GUEST_SYNC(false);
  const vector = rdmsr_safe(MSR_PLATFORM_INFO, msr_platform_info);
  GUEST_ASSERT_EQ(vector, GP_VECTOR);

  GUEST_DONE();
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();
  const uc = new_ucall();

  TEST_REQUIRE(kvm_has_cap(KVM_CAP_MSR_PLATFORM_INFO));
  TEST_REQUIRE_GUEST_CODE();

  const vm = vm_create_with_one_vcpu(vcpu, guest_code);

  const msr_platform_info = vcpu_get_msr(vcpu.value, MSR_PLATFORM_INFO);
  vcpu_set_msr(
    vcpu.value,
    MSR_PLATFORM_INFO,
    msr_platform_info | MSR_PLATFORM_INFO_MAX_TURBO_RATIO,
  );

  done: for (;;) {
    vcpu_run(vcpu.value);
    TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, KVM_EXIT_IO);

    switch (get_ucall(vcpu.value, uc)) {
      case UCALL_SYNC:
        vm_enable_cap(vm, KVM_CAP_MSR_PLATFORM_INFO, uc.args.at(1));
        break;
      case UCALL_DONE:
        break done;
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        // falls through (REPORT_GUEST_ASSERT() exits)
      default:
        TEST_FAIL("Unexpected ucall %lu", uc.cmd);
    }
  }

  kvm_vm_free(vm);

  return 0;
}

await ksft_main(import.meta, main);
