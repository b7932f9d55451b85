// SPDX-License-Identifier: GPL-2.0-only
/**
 * How MSR_IA32_TSC and MSR_IA32_TSC_ADJUST move together under guest and
 * userspace writes: port of
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

  // A guest WRMSR to the TSC moves TSC_ADJUST by the same delta.
  val = 1n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // A guest WRMSR to TSC_ADJUST shifts the TSC along with it.
  GUEST_SYNC(2);
  val = 2n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC_ADJUST, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // Userspace has offset the TSC; TSC_ADJUST must not reflect that.
  GUEST_SYNC(3);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), HOST_ADJUST + val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // A guest TSC_ADJUST write keeps the userspace offset and still shifts
  // the TSC.
  GUEST_SYNC(4);
  val = 3n * GUEST_STEP;
  wrmsr(MSR_IA32_TSC_ADJUST, val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC), HOST_ADJUST + val);
  GUEST_ASSERT_EQ(rounded_rdmsr(MSR_IA32_TSC_ADJUST), val);

  // A guest TSC write recomputes TSC_ADJUST, which now absorbs the
  // userspace offset.
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

  // A guest WRMSR to the TSC moves TSC_ADJUST by the same delta.
  run_vcpu(v, 1);
  val = 1n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // A guest WRMSR to TSC_ADJUST shifts the TSC along with it.
  run_vcpu(v, 2);
  val = 2n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // A userspace TSC write only changes KVM's offset, so TSC_ADJUST stays.
  vcpu_set_msr(v, MSR_IA32_TSC, HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);
  run_vcpu(v, 3);

  // A userspace TSC_ADJUST write leaves the TSC alone.
  vcpu_set_msr(v, MSR_IA32_TSC_ADJUST, UNITY * 123456n);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(vcpu_get_msr(v, MSR_IA32_TSC_ADJUST), UNITY * 123456n);

  // Put the earlier TSC_ADJUST back.
  vcpu_set_msr(v, MSR_IA32_TSC_ADJUST, val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // A guest TSC_ADJUST write keeps the userspace offset and still shifts
  // the TSC.
  run_vcpu(v, 4);
  val = 3n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), HOST_ADJUST + val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val);

  // A guest TSC write recomputes TSC_ADJUST, which now absorbs the
  // userspace offset.
  run_vcpu(v, 5);
  val = 4n * GUEST_STEP;
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC), val);
  TEST_ASSERT_EQ(rounded_host_rdmsr(v, MSR_IA32_TSC_ADJUST), val - HOST_ADJUST);

  kvm_vm_free(vm);

  ksft_finished(); // Print results and exit() accordingly
}

await ksft_main(import.meta, main);
