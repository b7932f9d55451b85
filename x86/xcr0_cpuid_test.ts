// SPDX-License-Identifier: GPL-2.0-only
/**
 * Checks the XCR0 that KVM's CPUID offers a guest: its initial value, its
 * feature groupings and which XSETBV values #GP. Port of
 * `tools/testing/selftests/kvm/x86/xcr0_cpuid_test.c`.
 *
 * Copyright (C) 2022, Google LLC.
 *
 * A line-for-line port; the two assertion macros are functions, so a failure
 * reports their condition as written here rather than C's expansion.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __GUEST_ASSERT,
  exit_reason_str,
  get_ucall,
  GUEST_ASSERT,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_EXIT_IO } from "../include/linux/kvm.ts";
import { GP_VECTOR } from "../include/asm/kvm.ts";
import {
  ex_str,
  get_cr4,
  kvm_cpu_has,
  set_cr4,
  this_cpu_supported_xcr0,
  X86_CR4_OSXSAVE,
  X86_FEATURE_XSAVE,
  XFEATURE_MASK_AVX512,
  XFEATURE_MASK_BNDCSR,
  XFEATURE_MASK_BNDREGS,
  XFEATURE_MASK_FP,
  XFEATURE_MASK_SSE,
  XFEATURE_MASK_XTILE,
  XFEATURE_MASK_YMM,
  xgetbv,
  xsetbv_safe,
} from "../include/x86/processor.ts";

const BIT_ULL = (n: number): bigint => 1n << BigInt(n);

// If every bit of `xfeatures` is offered, everything they build on must be
// offered too (YMM state is useless without XMM state, for instance).
function ASSERT_XFEATURE_DEPENDENCIES(
  supported_xcr0: bigint,
  xfeatures: bigint,
  dependencies: bigint,
): void {
  const __supported = supported_xcr0 & (xfeatures | dependencies);

  __GUEST_ASSERT(
    (__supported & xfeatures) !== xfeatures || __supported === (xfeatures | dependencies),
    "supported = 0x%lx, xfeatures = 0x%llx, dependencies = 0x%llx",
    __supported,
    xfeatures,
    dependencies,
  );
}

// Some components only work as a group: XSETBV #GPs when a group is
// partly enabled (XTILE_CFG without XTILE_DATA, say), even though CPUID could
// in theory list just part of it. KVM's XCR0 must be loadable unchanged, so it
// offers a whole group or none of it.
function ASSERT_ALL_OR_NONE_XFEATURE(supported_xcr0: bigint, xfeatures: bigint): void {
  const __supported = supported_xcr0 & xfeatures;

  __GUEST_ASSERT(
    !__supported || __supported === xfeatures,
    "supported = 0x%lx, xfeatures = 0x%llx",
    __supported,
    xfeatures,
  );
}

/** Guest entry point. */
export function guest_code(): void {
  set_cr4(get_cr4() | X86_CR4_OSXSAVE);

  const initial_xcr0 = xgetbv(0);
  const supported_xcr0 = this_cpu_supported_xcr0();

  GUEST_ASSERT(initial_xcr0 === supported_xcr0);

  // AVX: YMM needs SSE.
  ASSERT_XFEATURE_DEPENDENCIES(supported_xcr0, XFEATURE_MASK_YMM, XFEATURE_MASK_SSE);

  // MPX: BNDREGS and BNDCSR come together.
  ASSERT_ALL_OR_NONE_XFEATURE(supported_xcr0, XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR);

  // AVX-512: opmask/ZMM state needs SSE and YMM, and is all-or-none.
  ASSERT_XFEATURE_DEPENDENCIES(
    supported_xcr0,
    XFEATURE_MASK_AVX512,
    XFEATURE_MASK_SSE | XFEATURE_MASK_YMM,
  );
  ASSERT_ALL_OR_NONE_XFEATURE(supported_xcr0, XFEATURE_MASK_AVX512);

  // AMX: tile config and tile data come together.
  ASSERT_ALL_OR_NONE_XFEATURE(supported_xcr0, XFEATURE_MASK_XTILE);

  let vector = xsetbv_safe(0, XFEATURE_MASK_FP);
  __GUEST_ASSERT(!vector, "Expected success on XSETBV(FP), got %s", ex_str(vector));

  vector = xsetbv_safe(0, supported_xcr0);
  __GUEST_ASSERT(
    !vector,
    "Expected success on XSETBV(0x%lx), got %s",
    supported_xcr0,
    ex_str(vector),
  );

  for (let i = 0; i < 64; i++) {
    if (supported_xcr0 & BIT_ULL(i)) continue;

    vector = xsetbv_safe(0, supported_xcr0 | BIT_ULL(i));
    __GUEST_ASSERT(
      vector === GP_VECTOR,
      "Expected #GP on XSETBV(0x%llx), supported XCR0 = %lx, got %s",
      BIT_ULL(i),
      supported_xcr0,
      ex_str(vector),
    );
  }

  GUEST_DONE();
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();
  const uc = new_ucall();

  TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_XSAVE));
  TEST_REQUIRE_GUEST_CODE();

  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  const run = vcpu.value.run;

  done: for (;;) {
    vcpu_run(vcpu.value);

    TEST_ASSERT(
      run.exit_reason === KVM_EXIT_IO,
      "Unexpected exit reason: %u (%s),",
      run.exit_reason,
      exit_reason_str(run.exit_reason),
    );

    switch (get_ucall(vcpu.value, uc)) {
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        break;
      case UCALL_DONE:
        break done;
      default:
        TEST_FAIL("Unknown ucall %lu", uc.cmd);
    }
  }

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
