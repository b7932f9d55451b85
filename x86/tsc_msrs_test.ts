// SPDX-License-Identifier: GPL-2.0-only
/**
 * Tests for MSR_IA32_TSC and MSR_IA32_TSC_ADJUST: port of
 * `tools/testing/selftests/kvm/x86/tsc_msrs_test.c`.
 *
 * Copyright (C) 2020, Red Hat, Inc.
 *
 * A line-for-line port. The C macros `rounded_rdmsr()` and
 * `rounded_host_rdmsr()` are functions (the latter takes the vCPU C picks up
 * from the caller's scope). Values are rounded to 2^30 TSC ticks, so the
 * guest has to reach its first RDMSR within 2^29 ticks of vCPU creation;
 * a vCPU worker starts within that on the simulator's 2.1 GHz TSC.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  ksft_finished,
  ksft_print_header,
  ksft_set_plan,
  ksft_test_result_fail,
  ksft_test_result_pass,
} from "../include/kselftest.ts";
import {
  c_str,
  exit_reason_str,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import {
  MSR_IA32_TSC,
  MSR_IA32_TSC_ADJUST,
  rdmsr,
  vcpu_get_msr,
  vcpu_set_msr,
  wrmsr,
} from "../include/x86/processor.ts";

const UNITY = 1n << 30n;
const HOST_ADJUST = UNITY * 64n;
const GUEST_STEP = UNITY * 4n;
const ROUND = (x: bigint): bigint => BigInt.asUintN(64, (x + UNITY / 2n) & -UNITY);
const rounded_rdmsr = (x: number): bigint => ROUND(rdmsr(x));
const rounded_host_rdmsr = (vcpu: kvm_vcpu, x: number): bigint => ROUND(vcpu_get_msr(vcpu, x));

/** Guest entry point. */
export function guest_code(): void {
  let val = 0n;

  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC affect both MSRs.
  val = 1n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC_ADJUST affect both MSRs.
  GUEST_SYNC(2);
  val = 2n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC_ADJUST, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // Host: setting the TSC offset.
  GUEST_SYNC(3);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), HOST_ADJUST + val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC_ADJUST do not destroy the
  // host-side offset and affect both MSRs.
  GUEST_SYNC(4);
  val = 3n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC_ADJUST, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), HOST_ADJUST + val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC affect both MSRs, so the host-side
  // offset is now visible in MSR_IA32_TSC_ADJUST.
  GUEST_SYNC(5);
  val = 4n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val - HOST_ADJUST);

  GUEST_DONE();
}

function run_vcpu(vcpu: kvm_vcpu, stage: number): void {
  const uc = new_ucall();

  vcpu_run(vcpu);

  switch (get_ucall(vcpu, uc)) {
    case UCALL_SYNC:
      if (c_str(uc.args.at(0)) === "hello" && uc.args.at(1) === BigInt(stage + 1)) {
        ksft_test_result_pass("stage %d passed\n", stage + 1);
      } else {
        ksft_test_result_fail(
          "stage %d: Unexpected register values vmexit, got %lx",
          stage + 1,
          uc.args.at(1),
        );
      }
      return;
    case UCALL_DONE:
      ksft_test_result_pass("stage %d passed\n", stage + 1);
      return;
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      // falls through (REPORT_GUEST_ASSERT() exits)
    default:
      TEST_ASSERT(false, "Unexpected exit: %s", exit_reason_str(vcpu.run.exit_reason));
  }
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();

  ksft_print_header();
  ksft_set_plan(5);

  TEST_REQUIRE_GUEST_CODE();
  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  const v = vcpu.value;

  let val = 0n;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC affect both MSRs.
  run_vcpu(v, 1);
  val = 1n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC_ADJUST affect both MSRs.
  run_vcpu(v, 2);
  val = 2n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // Host: writes to MSR_IA32_TSC set the host-side offset
  // and therefore do not change MSR_IA32_TSC_ADJUST.
  vcpu_set_msr(v, MSR_IA32_TSC, HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);
  run_vcpu(v, 3);

  // Host: writes to MSR_IA32_TSC_ADJUST do not modify the TSC.
  vcpu_set_msr(v, MSR_IA32_TSC_ADJUST, UNITY * 123456n);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(vcpu_get_msr(v, MSR_IA32_TSC_ADJUST), UNITY * 123456n);

  // Restore previous value.
  vcpu_set_msr(v, MSR_IA32_TSC_ADJUST, val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC_ADJUST do not destroy the
  // host-side offset and affect both MSRs.
  run_vcpu(v, 4);
  val = 3n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // Guest: writes to MSR_IA32_TSC affect both MSRs, so the host-side
  // offset is now visible in MSR_IA32_TSC_ADJUST.
  run_vcpu(v, 5);
  val = 4n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val - HOST_ADJUST);

  kvm_vm_free(vm);

  ksft_finished(); // Print results and exit() accordingly
}

await ksft_main(import.meta, main);
