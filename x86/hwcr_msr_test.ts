// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSR_K7_HWCR from userspace: port of
 * `tools/testing/selftests/kvm/x86/hwcr_msr_test.c`.
 *
 * Copyright (C) 2023, Google LLC.
 *
 * Each of the 64 bits is written alone: KVM accepts the ignored bits (3, 6,
 * 8) and the two it emulates (18, 24), keeps only the latter, and refuses
 * the rest. A line-for-line port.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import {
  _vcpu_set_msr,
  MSR_K7_HWCR,
  vcpu_get_msr,
  vcpu_set_msr,
} from "../include/x86/processor.ts";

const BIT_ULL = (n: number): bigint => 1n << BigInt(n);
const BITS_PER_LONG = 64;

function test_hwcr_bit(vcpu: kvm_vcpu, bit: number): void {
  const ignored = BIT_ULL(3) | BIT_ULL(6) | BIT_ULL(8);
  const valid = BIT_ULL(18) | BIT_ULL(24);
  const legal = ignored | valid;
  const val = BIT_ULL(bit);

  const r = _vcpu_set_msr(vcpu, MSR_K7_HWCR, val);
  TEST_ASSERT(
    val & ~legal ? !r : r === 1,
    "Expected KVM_SET_MSRS(MSR_K7_HWCR) = 0x%lx to %s",
    val,
    val & ~legal ? "fail" : "succeed",
  );

  const actual = vcpu_get_msr(vcpu, MSR_K7_HWCR);
  TEST_ASSERT(
    actual === (val & valid),
    "Bit %u: unexpected HWCR 0x%lx; expected 0x%lx",
    bit,
    actual,
    val & valid,
  );

  vcpu_set_msr(vcpu, MSR_K7_HWCR, 0);
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);

  for (let bit = 0; bit < BITS_PER_LONG; bit++) test_hwcr_bit(vcpu.value, bit);

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
