// SPDX-License-Identifier: GPL-2.0-only
/**
 * A program whose guest assertion fails: `lib/ucall_common_test.ts` runs it
 * standalone and checks that the host prints the guest's file, line,
 * expression and message and exits with 254.
 *
 * @module
 */

import { ksft_main } from "../../include/kselftest_harness.ts";
import {
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_FAIL,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../include/kvm_util.ts";

/** Guest entry point: 2 + 2 is not 5. */
export function guest_code(): void {
  const four = 2 + 2;
  GUEST_ASSERT_EQ(four, 5);
  GUEST_DONE();
}

function main(): number {
  TEST_REQUIRE_GUEST_CODE();

  const vcpu = ref<kvm_vcpu>();
  const uc = new_ucall();
  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  vcpu_run(vcpu.value);
  switch (get_ucall(vcpu.value, uc)) {
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      break;
    default:
      TEST_FAIL("Unexpected ucall %lu", uc.cmd);
  }
  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
