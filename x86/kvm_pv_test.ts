// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM must hide its paravirtual MSRs and hypercalls once their
 * KVM_CPUID_FEATURES bits are cleared: port of
 * `tools/testing/selftests/kvm/x86/kvm_pv_test.c`.
 *
 * Copyright (C) 2020, Google LLC.
 *
 * What differs from C: `PR_MSR(msr)` / `PR_HCALL(hc)` pass a pointer to the
 * guest's `msr_data` / `hcall_data`, which the host dereferences because the
 * test image is mapped at the same addresses in both. Here the tables are
 * module constants, which host and guest both load, so the ucall carries the
 * entry's index and the host looks it up (docs/porting.md, "Read-only guest
 * data in a ucall").
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vm_enable_cap,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  kvm_check_cap,
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  pr_info,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  ucall,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_enable_cap,
  vcpu_run,
  vm_create,
  vm_create_with_one_vcpu,
  vm_enable_cap,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
  KVM_CAP_X86_DISABLE_EXITS,
  KVM_EXIT_IO,
  KVM_X86_DISABLE_EXITS_HLT,
} from "../include/linux/kvm.ts";
import {
  KVM_CPUID_FEATURES,
  KVM_CPUID_SIGNATURE,
  KVM_ENOSYS,
  KVM_HC_KICK_CPU,
  KVM_HC_SCHED_YIELD,
  KVM_HC_SEND_IPI,
  MSR_KVM_ASYNC_PF_ACK,
  MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_ASYNC_PF_INT,
  MSR_KVM_POLL_CONTROL,
  MSR_KVM_PV_EOI_EN,
  MSR_KVM_STEAL_TIME,
  MSR_KVM_SYSTEM_TIME,
  MSR_KVM_SYSTEM_TIME_NEW,
  MSR_KVM_WALL_CLOCK,
  MSR_KVM_WALL_CLOCK_NEW,
} from "../include/linux/kvm_para.ts";
import { GP_VECTOR } from "../include/asm/kvm.ts";
import {
  kvm_hypercall,
  rdmsr_safe,
  vcpu_clear_cpuid_entry,
  vcpu_cpuid_has,
  vcpu_get_cpuid_entry,
  vcpu_set_cpuid,
  vcpu_set_cpuid_feature,
  wrmsr_safe,
  X86_FEATURE_KVM_PV_UNHALT,
} from "../include/x86/processor.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EINVAL } from "../include/linux/errno.ts";

interface msr_data {
  idx: number;
  name: string;
}

const TEST_MSR = (idx: number, name: string): msr_data => ({ idx, name });
const UCALL_PR_MSR = 0xdeadbeef;
/** C `PR_MSR(msr)`: the entry's index in `msrs_to_test` stands for its address. */
const PR_MSR = (i: number) => ucall(UCALL_PR_MSR, 1, i);

// With KVM_CPUID_FEATURES emptied, every one of these PV MSRs must #GP on
// both RDMSR and WRMSR.
const msrs_to_test: readonly msr_data[] = [
  TEST_MSR(MSR_KVM_SYSTEM_TIME, "MSR_KVM_SYSTEM_TIME"),
  TEST_MSR(MSR_KVM_SYSTEM_TIME_NEW, "MSR_KVM_SYSTEM_TIME_NEW"),
  TEST_MSR(MSR_KVM_WALL_CLOCK, "MSR_KVM_WALL_CLOCK"),
  TEST_MSR(MSR_KVM_WALL_CLOCK_NEW, "MSR_KVM_WALL_CLOCK_NEW"),
  TEST_MSR(MSR_KVM_ASYNC_PF_EN, "MSR_KVM_ASYNC_PF_EN"),
  TEST_MSR(MSR_KVM_STEAL_TIME, "MSR_KVM_STEAL_TIME"),
  TEST_MSR(MSR_KVM_PV_EOI_EN, "MSR_KVM_PV_EOI_EN"),
  TEST_MSR(MSR_KVM_POLL_CONTROL, "MSR_KVM_POLL_CONTROL"),
  TEST_MSR(MSR_KVM_ASYNC_PF_INT, "MSR_KVM_ASYNC_PF_INT"),
  TEST_MSR(MSR_KVM_ASYNC_PF_ACK, "MSR_KVM_ASYNC_PF_ACK"),
];

function test_msr(i: number): void {
  const msr = msrs_to_test[i]!;
  const ignored = ref(0n);

  PR_MSR(i);

  let vector = rdmsr_safe(msr.idx, ignored);
  GUEST_ASSERT_EQ(vector, GP_VECTOR);

  vector = wrmsr_safe(msr.idx, 0);
  GUEST_ASSERT_EQ(vector, GP_VECTOR);
}

interface hcall_data {
  nr: number;
  name: string;
}

const TEST_HCALL = (nr: number, name: string): hcall_data => ({ nr, name });
const UCALL_PR_HCALL = 0xdeadc0de;
const PR_HCALL = (i: number) => ucall(UCALL_PR_HCALL, 1, i);

// Each hypercall's feature bit is gone from KVM_CPUID_FEATURES, so KVM must
// answer it with -KVM_ENOSYS.
const hcalls_to_test: readonly hcall_data[] = [
  TEST_HCALL(KVM_HC_KICK_CPU, "KVM_HC_KICK_CPU"),
  TEST_HCALL(KVM_HC_SEND_IPI, "KVM_HC_SEND_IPI"),
  TEST_HCALL(KVM_HC_SCHED_YIELD, "KVM_HC_SCHED_YIELD"),
];

function test_hcall(i: number): void {
  const hc = hcalls_to_test[i]!;

  PR_HCALL(i);
  const r = kvm_hypercall(hc.nr, 0, 0, 0, 0);
  GUEST_ASSERT_EQ(r, BigInt(-KVM_ENOSYS));
}

/** Guest entry point. */
export function guest_main(): void {
  for (let i = 0; i < msrs_to_test.length; i++) test_msr(i);

  for (let i = 0; i < hcalls_to_test.length; i++) test_hcall(i);

  GUEST_DONE();
}

function pr_msr(uc: ReturnType<typeof new_ucall>): void {
  const msr = msrs_to_test[Number(uc.args.at(0))]!;

  pr_info("testing msr: %s (%#x)\n", msr.name, msr.idx);
}

function pr_hcall(uc: ReturnType<typeof new_ucall>): void {
  const hc = hcalls_to_test[Number(uc.args.at(0))]!;

  pr_info("testing hcall: %s (%lu)\n", hc.name, hc.nr);
}

function enter_guest(vcpu: kvm_vcpu): void {
  const uc = new_ucall();

  for (;;) {
    vcpu_run(vcpu);
    TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

    switch (Number(get_ucall(vcpu, uc))) {
      case UCALL_PR_MSR:
        pr_msr(uc);
        break;
      case UCALL_PR_HCALL:
        pr_hcall(uc);
        break;
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        return;
      case UCALL_DONE:
        return;
    }
  }
}

function test_pv_unhalt(): void {
  const vcpu_ref = ref<kvm_vcpu>();

  if (!(kvm_check_cap(KVM_CAP_X86_DISABLE_EXITS) & KVM_X86_DISABLE_EXITS_HLT)) return;

  pr_info("testing KVM_FEATURE_PV_UNHALT\n");

  // PV_UNHALT vs. KVM_CAP_X86_DISABLE_EXITS_HLT
  let vm = vm_create_with_one_vcpu(vcpu_ref, guest_main);
  let vcpu = vcpu_ref.value;
  vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_UNHALT);

  TEST_ASSERT(
    vcpu_cpuid_has(vcpu, X86_FEATURE_KVM_PV_UNHALT),
    "Enabling X86_FEATURE_KVM_PV_UNHALT had no effect",
  );

  // Once a vCPU exists, KVM refuses to turn off HLT exits.
  const r = __vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT);
  TEST_ASSERT(
    r && errno_get() === EINVAL,
    "Disabling exits after vCPU creation didn't fail as expected",
  );

  kvm_vm_free(vm);

  // With HLT exits off, PV_UNHALT makes no sense, so KVM strips it from
  // the CPUID we set.
  vm = vm_create(1);
  vm_enable_cap(vm, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT);

  vcpu = vm_vcpu_add(vm, 0, null);
  TEST_ASSERT(
    !vcpu_cpuid_has(vcpu, X86_FEATURE_KVM_PV_UNHALT),
    "vCPU created with PV_UNHALT set by default",
  );

  vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_UNHALT);
  TEST_ASSERT(
    !vcpu_cpuid_has(vcpu, X86_FEATURE_KVM_PV_UNHALT),
    "PV_UNHALT set in guest CPUID when HLT-exiting is disabled",
  );

  // KVM only filters PV_UNHALT inside a leaf carrying its own signature:
  // with a bogus signature the bit survives, with the real one restored it
  // is dropped again.
  let ent = vcpu_get_cpuid_entry(vcpu, KVM_CPUID_SIGNATURE);
  const kvm_sig_old = ent.ebx;
  ent.ebx = 0xdeadbeef;
  vcpu_set_cpuid(vcpu);

  vcpu_set_cpuid_feature(vcpu, X86_FEATURE_KVM_PV_UNHALT);
  TEST_ASSERT(
    vcpu_cpuid_has(vcpu, X86_FEATURE_KVM_PV_UNHALT),
    "PV_UNHALT cleared when using bogus KVM PV signature",
  );

  ent = vcpu_get_cpuid_entry(vcpu, KVM_CPUID_SIGNATURE);
  ent.ebx = kvm_sig_old;
  vcpu_set_cpuid(vcpu);

  TEST_ASSERT(
    !vcpu_cpuid_has(vcpu, X86_FEATURE_KVM_PV_UNHALT),
    "PV_UNHALT set in guest CPUID when HLT-exiting is disabled",
  );

  // TODO (as upstream): the guest never exercises PV_UNHALT itself.

  kvm_vm_free(vm);
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();

  TEST_REQUIRE(kvm_has_cap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID));
  TEST_REQUIRE_GUEST_CODE();

  const vm = vm_create_with_one_vcpu(vcpu, guest_main);

  vcpu_enable_cap(vcpu.value, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 1);

  vcpu_clear_cpuid_entry(vcpu.value, KVM_CPUID_FEATURES);

  enter_guest(vcpu.value);
  kvm_vm_free(vm);

  test_pv_unhalt();
  return 0;
}

await ksft_main(import.meta, main);
